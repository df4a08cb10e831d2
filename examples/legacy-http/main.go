// Command legacy-http is a small HTTP service that knows nothing of hcinit: it
// serves GET /health, which answers 500 while the fail file exists or after a
// POST /fail (until a POST /ok), and shuts down gracefully on SIGTERM or SIGINT.
// hcinit gives it health checks from outside with an http check:
//
//	hcinit --check http://127.0.0.1:8080/health -- /app
//
// "app -ctl fail" (or ok) posts to the running instance, so the health endpoint
// can be flipped with docker exec in an image that has no shell or curl.
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
)

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("legacy-http: ")
	listen := flag.String("listen", env("LISTEN", ":8080"), "address to serve on ($LISTEN)")
	failFile := flag.String("fail-file", env("FAIL_FILE", "/tmp/fail"), "GET /health fails while this file exists ($FAIL_FILE)")
	delay := flag.Duration("startup-delay", envDuration("STARTUP_DELAY"), "wait this long before listening, like a slow start ($STARTUP_DELAY)")
	exitCode := flag.Int("exit-code", envInt("EXIT_CODE"), "exit status after a graceful shutdown ($EXIT_CODE)")
	ctl := flag.String("ctl", "", "fail or ok: tell the running instance on -listen to flip its health, then exit")
	flag.Parse()

	if *ctl != "" {
		if err := control(*listen, *ctl); err != nil {
			fmt.Fprintln(os.Stderr, "legacy-http:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(serve(*listen, *failFile, *delay, *exitCode))
}

func serve(listen, failFile string, delay time.Duration, exitCode int) int {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	if delay > 0 {
		log.Printf("starting slowly: listening in %s", delay)
		select {
		case <-time.After(delay):
		case s := <-stop:
			log.Printf("received %v while starting; exiting", s)
			return exitCode
		}
	}

	var failing atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "failing: POST /fail", http.StatusInternalServerError)
			return
		}
		if _, err := os.Stat(failFile); err == nil {
			http.Error(w, "failing: "+failFile+" exists", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		failing.Store(true)
		log.Print("health flipped to failing")
		fmt.Fprintln(w, "failing")
	})
	mux.HandleFunc("POST /ok", func(w http.ResponseWriter, r *http.Request) {
		failing.Store(false)
		log.Print("health flipped to ok")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello from legacy-http")
	})

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		log.Print(err)
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Printf("listening on %s (pid %d, uid %d)", ln.Addr(), os.Getpid(), os.Getuid())

	select {
	case err := <-done:
		log.Print(err)
		return 1
	case s := <-stop:
		log.Printf("received %v; shutting down", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Printf("shutdown: %v", err)
		return 1
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		log.Print(err)
	}
	log.Printf("shutdown complete; exiting with %d", exitCode)
	return exitCode
}

// control posts /fail or /ok to the instance listening on listen.
func control(listen, what string) error {
	if what != "fail" && what != "ok" {
		return fmt.Errorf("-ctl wants fail or ok, have %q", what)
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Post("http://"+net.JoinHostPort(host, port)+"/"+what, "text/plain", strings.NewReader(""))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /%s: %s", what, resp.Status)
	}
	return nil
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envDuration(name string) time.Duration {
	d, err := time.ParseDuration(env(name, "0s"))
	if err != nil {
		log.Fatalf("$%s: %v", name, err)
	}
	return d
}

func envInt(name string) int {
	var n int
	if _, err := fmt.Sscan(env(name, "0"), &n); err != nil {
		log.Fatalf("$%s: %v", name, err)
	}
	return n
}
