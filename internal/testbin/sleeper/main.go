// Command sleeper waits to be stopped and reports what it sees: it prints
// "ready pid=P tty=T foreground=F" (whether stdin is a terminal and its
// process group is the terminal's foreground group), logs each signal it
// gets, and exits 0 on TERM or INT unless told to ignore them. Signals it
// neither handles nor ignores keep their default action, so SIGINT from a
// terminal kills it (status 130 through an init). With -dump a QUIT prints a
// "thread dump" line and it runs on, as a JVM does; with -shutdown D a handled
// TERM or INT takes D before it exits.
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
)

func main() {
	ignore := flag.String("ignore", "", "comma-separated signals to ignore: TERM, INT")
	handle := flag.Bool("handle", false, "exit 0 on TERM and INT instead of dying of them")
	dump := flag.Bool("dump", false, "on QUIT print \"thread dump\" and run on, as a JVM does")
	shutdown := flag.Duration("shutdown", 0, "with -handle: time a graceful shutdown takes before exiting 0")
	flag.Parse()

	var ignored []os.Signal
	for _, s := range strings.Split(*ignore, ",") {
		switch strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "SIG") {
		case "TERM":
			ignored = append(ignored, syscall.SIGTERM)
		case "INT":
			ignored = append(ignored, syscall.SIGINT)
		case "":
		default:
			fmt.Fprintf(os.Stderr, "sleeper: cannot ignore %q\n", s)
			os.Exit(2)
		}
	}
	// Notified, not ignored, so the log shows they arrived. HUP is always
	// notified (and only logged): it keeps a receiver alive, so Go's deadlock
	// detector never sees a main goroutine waiting on nothing.
	sigc := make(chan os.Signal, 8)
	signal.Notify(sigc, syscall.SIGHUP)
	if len(ignored) > 0 {
		signal.Notify(sigc, ignored...)
	}
	if *handle {
		signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	}
	if *dump {
		signal.Notify(sigc, syscall.SIGQUIT)
	}

	tty, fg := false, false
	if pgrp, err := unix.IoctlGetInt(0, unix.TIOCGPGRP); err == nil {
		tty = true
		fg = pgrp == unix.Getpgrp()
	}
	fmt.Printf("ready pid=%d tty=%v foreground=%v\n", os.Getpid(), tty, fg)
	quits := 0
	for s := range sigc {
		isIgnored := false
		for _, i := range ignored {
			isIgnored = isIgnored || i == s
		}
		if isIgnored || s == syscall.SIGHUP {
			fmt.Printf("ignoring %v\n", s)
			continue
		}
		if s == syscall.SIGQUIT {
			quits++
			fmt.Printf("thread dump %d (received %v), running on\n", quits, s)
			continue
		}
		if *shutdown > 0 {
			fmt.Printf("received %v; shutting down for %s\n", s, *shutdown)
			time.Sleep(*shutdown) // the slow shutdown under test
			fmt.Println("shutdown complete")
		}
		fmt.Printf("received %v; exiting\n", s)
		os.Exit(0)
	}
}
