// Command v1server serves go-healthcheck's protocol with this module's server
// package, as a service linking it does: without HEALTHCHECK_NAME_FILE it
// writes its socket's name into .hc-socket in its working directory, as
// v1.0.x did. Its check always passes. It prints "serving" once listening and
// runs until SIGTERM, which stops the server (its socket removed).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/wisdom-oss/go-healthcheck/server"
)

func main() {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	var s server.HealthcheckServer
	s.Init()
	if err := s.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "v1server:", err)
		os.Exit(1)
	}
	go func() { <-term; s.Stop() }()
	fmt.Println("serving")
	s.Run()
}
