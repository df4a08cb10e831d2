// Command go-library is a Go service that links go-healthcheck's server
// package: its own check function decides health, and it answers on the
// go-healthcheck socket it announces in .hc-socket. Run under hcinit with no
// --check at all, hcinit finds that socket by itself and delegates to it:
//
//	hcinit -- /app
//
// The blank import of the client package also keeps the v1.0.x way working:
// "/app -healthcheck" probes the running instance and exits 0 or 1.
//
// "app -ctl fail" (or ok) flips the check function's answer in the running
// instance, over its HTTP port, so a test can make it unhealthy.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/wisdom-oss/go-healthcheck/client"
	"github.com/wisdom-oss/go-healthcheck/server"
)

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("go-library: ")
	listen := flag.String("listen", ":8080", "address to serve on")
	ctl := flag.String("ctl", "", "fail or ok: flip the running instance's health check, then exit")
	flag.Parse()
	if *ctl != "" {
		if err := control(*listen, *ctl); err != nil {
			fmt.Fprintln(os.Stderr, "go-library:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(serve(*listen))
}

func serve(listen string) int {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)

	var failing atomic.Bool
	var hc server.HealthcheckServer
	hc.InitWithFunc(func() error {
		if failing.Load() {
			return errors.New("database unreachable (simulated)")
		}
		return nil
	})
	if err := hc.Start(); err != nil {
		log.Printf("health server: %v", err)
		return 1
	}
	go hc.Run()
	defer hc.Stop()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		failing.Store(true)
		log.Print("check function flipped to failing")
	})
	mux.HandleFunc("POST /ok", func(w http.ResponseWriter, r *http.Request) {
		failing.Store(false)
		log.Print("check function flipped to ok")
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from go-library")
	})
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		log.Print(err)
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Printf("listening on %s (pid %d)", ln.Addr(), os.Getpid())

	s := <-stop
	log.Printf("received %v; shutting down", s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Printf("shutdown: %v", err)
		return 1
	}
	log.Print("shutdown complete")
	return 0
}

func control(listen, what string) error {
	if what != "fail" && what != "ok" {
		return fmt.Errorf("-ctl wants fail or ok, have %q", what)
	}
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Post("http://127.0.0.1:"+port+"/"+what, "text/plain", strings.NewReader(""))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /%s: %s", what, resp.Status)
	}
	return nil
}
