// Command silent opens connections to a unix socket and never writes to them,
// for tests of a server that must not let idle clients hold every slot.
//
//	silent [-n N] [-max D] ADDR
//
// A leading '@' in ADDR names an abstract socket. Each connect blocks until the
// server's backlog takes it. Once all N are open it prints "silent ready PID"
// and keeps them open, unread and unwritten, until it is killed or -max passes.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	n := flag.Int("n", 100, "connections to open")
	lifetime := flag.Duration("max", 60*time.Second, "exit 99 after this long, so no helper outlives a broken test")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: silent [-n N] [-max D] ADDR")
		os.Exit(2)
	}
	addr := &unix.SockaddrUnix{Name: flag.Arg(0)} // x/sys turns a leading '@' into an abstract name
	fds := make([]int, 0, *n)
	for i := 0; i < *n; i++ {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			err = unix.Connect(fd, addr)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "silent: connection %d of %d: %v\n", i+1, *n, err)
			os.Exit(1)
		}
		fds = append(fds, fd)
	}
	fmt.Printf("silent ready %d\n", os.Getpid())
	time.Sleep(*lifetime) // holding the connections is the whole job
	fmt.Fprintf(os.Stderr, "silent: still running after %s\n", *lifetime)
	os.Exit(99)
}
