// Command listen holds a TCP port, as a worker of a prefork server does.
//
//	listen [-name N] -addr HOST:PORT [-ready FILE]
//
// Once it listens it prints "N ready PID" and creates the -ready file; then it
// answers every connection with "N\n" and closes it, until a signal with the
// default action ends it (TERM does). When the address is taken it prints
// "N cannot listen: …" and exits 98, as Python's http.server does
// (EADDRINUSE).
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

func main() {
	name := flag.String("name", "listen", "prefix of the ready line, and the answer")
	addr := flag.String("addr", "", "TCP address to listen on")
	ready := flag.String("ready", "", "file created once it listens")
	lifetime := flag.Duration("max", 60*time.Second, "exit 99 after this long, so no listener outlives a broken test")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stdout, "%s cannot listen: %v\n", *name, err)
		if errors.Is(err, syscall.EADDRINUSE) {
			os.Exit(98)
		}
		os.Exit(2)
	}
	fmt.Fprintf(os.Stdout, "%s ready %d\n", *name, os.Getpid())
	if *ready != "" {
		if err := os.WriteFile(*ready, []byte(fmt.Sprintln(os.Getpid())), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			os.Exit(2)
		}
	}
	time.AfterFunc(*lifetime, func() {
		fmt.Fprintf(os.Stderr, "listen %s: still running after %s\n", *name, *lifetime)
		os.Exit(99)
	})
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		fmt.Fprintln(c, *name)
		c.Close()
	}
}
