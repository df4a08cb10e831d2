// Command spin keeps N threads busy until killed: an application's runaway
// threads, for tests of hcinit in a container with a CPU quota. One process
// starts them all at once; N shell loops would each need a fork, which a
// throttled shell spreads over tens of seconds.
//
//	spin N
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
)

func main() {
	n, err := strconv.Atoi(os.Args[len(os.Args)-1])
	if len(os.Args) != 2 || err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "usage: spin N")
		os.Exit(2)
	}
	runtime.GOMAXPROCS(n + 1)
	for range n {
		go func() {
			runtime.LockOSThread()
			for {
			}
		}()
	}
	select {}
}
