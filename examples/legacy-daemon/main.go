// Command legacy-daemon is a program that daemonizes the classic way: started
// normally it starts a copy of itself in a new session, writes that copy's pid
// to a pid file and exits 0, leaving the daemon running in the background.
// Under a plain init the container would end right there; under
//
//	hcinit --pidfile /run/legacy-daemon.pid -- /app
//
// hcinit adopts the pid from the file, supervises it, forwards signals to it
// and exits with its status. The daemon serves GET /health on :8080.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	pidfile := flag.String("pidfile", "/run/legacy-daemon.pid", "where the daemon's pid is written")
	listen := flag.String("listen", ":8080", "address to serve on")
	foreground := flag.Bool("foreground", false, "be the daemon: do not fork (used by the launcher)")
	flag.Parse()
	if *foreground {
		log.SetPrefix(fmt.Sprintf("legacy-daemon[%d]: ", os.Getpid()))
		os.Exit(daemon(*listen, *pidfile))
	}
	log.SetPrefix(fmt.Sprintf("legacy-daemon launcher[%d]: ", os.Getpid()))
	if err := launch(*pidfile, *listen); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

// launch starts the daemon in a session of its own, records its pid and
// returns without waiting for it, like fork + setsid + exit.
func launch(pidfile, listen string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	defer null.Close()
	// stdout and stderr stay open so the daemon's log reaches docker logs.
	p, err := os.StartProcess(exe, []string{exe, "-foreground", "-pidfile", pidfile, "-listen", listen},
		&os.ProcAttr{Files: []*os.File{null, os.Stdout, os.Stderr}, Sys: &syscall.SysProcAttr{Setsid: true}})
	if err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(pidfile), 0o755); err != nil {
		return err
	}
	tmp := pidfile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(p.Pid)+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, pidfile); err != nil {
		return err
	}
	log.Printf("daemon started as pid %d; launcher exits", p.Pid)
	return p.Release()
}

func daemon(listen, pidfile string) int {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	srv := &http.Server{Addr: listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("serving on %s (ppid %d)", listen, os.Getppid())
	select {
	case err := <-errc:
		log.Print(err)
		return 1
	case s := <-stop:
		log.Printf("received %v; shutting down", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
	os.Remove(pidfile)
	log.Print("shutdown complete")
	return 0
}
