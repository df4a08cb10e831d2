// Command sigprint prints every signal it receives, one line each, for tests of
// signal forwarding.
//
//	sigprint [-name N] [-exit SIG [-code C] [-linger D] [-touch FILE]] [-ready FILE] [-signal-parent SIG]
//
// Once its handlers are installed it prints "N ready PID" and creates the -ready
// file; then each signal is a line "N SIGNAME" written with one write(2), so lines
// of several printers sharing a pipe never interleave. It exits with C on the
// -exit signal, after -linger (a slow shutdown) and after creating -touch.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
)

func main() {
	// With asynchronous preemption on, the runtime signals its own threads with
	// SIGURG; off, every SIGURG printed came from outside.
	if !strings.Contains(os.Getenv("GODEBUG"), "asyncpreemptoff=1") {
		godebug := "asyncpreemptoff=1"
		if v := os.Getenv("GODEBUG"); v != "" {
			godebug = v + "," + godebug
		}
		exe, err := os.Executable()
		if err == nil {
			err = syscall.Exec(exe, os.Args, append(os.Environ(), "GODEBUG="+godebug))
		}
		fmt.Fprintln(os.Stderr, "sigprint: re-exec:", err)
		os.Exit(2)
	}
	name := flag.String("name", "child", "prefix of every line")
	exitOn := flag.String("exit", "", "exit when this signal arrives")
	code := flag.Int("code", 0, "exit status after -exit")
	linger := flag.Duration("linger", 0, "time between -exit arriving and exiting")
	touch := flag.String("touch", "", "file created just before exiting on -exit")
	ready := flag.String("ready", "", "file created once the handlers are installed")
	poke := flag.String("signal-parent", "", "signal sent to the parent once ready")
	lifetime := flag.Duration("max", 60*time.Second, "exit 99 after this long, so no printer outlives a broken test")
	flag.Parse()
	var exitSig, pokeSig unix.Signal
	for _, p := range []struct {
		s   string
		sig *unix.Signal
	}{{*exitOn, &exitSig}, {*poke, &pokeSig}} {
		if p.s == "" {
			continue
		}
		s, err := sigs.Parse(p.s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sigprint:", err)
			os.Exit(2)
		}
		*p.sig = s
	}

	c := make(chan os.Signal, 256)
	signal.Notify(c) // every signal the runtime lets through (not SIGPROF, 32–34)
	fmt.Fprintf(os.Stdout, "%s ready %d\n", *name, os.Getpid())
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte(fmt.Sprintln(os.Getpid())), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "sigprint:", err)
			os.Exit(2)
		}
	}
	if pokeSig != 0 {
		_ = unix.Kill(os.Getppid(), pokeSig)
	}
	deadline := time.After(*lifetime)
	for {
		select {
		case s := <-c:
			sig := s.(syscall.Signal)
			fmt.Fprintf(os.Stdout, "%s %s\n", *name, sigs.Name(sig))
			if sig != exitSig {
				continue
			}
			time.Sleep(*linger) // the slow shutdown under test, not synchronisation
			if *touch != "" {
				if err := os.WriteFile(*touch, nil, 0o644); err != nil {
					fmt.Fprintln(os.Stderr, "sigprint:", err)
					os.Exit(2)
				}
			}
			os.Exit(*code)
		case <-deadline:
			fmt.Fprintf(os.Stderr, "sigprint %s: still running after %s\n", *name, *lifetime)
			os.Exit(99)
		}
	}
}
