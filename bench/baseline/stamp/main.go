//go:build linux

// Command stamp prints CLOCK_MONOTONIC in nanoseconds as soon as its main runs,
// then exits 0. As the child of a wrapper it splits the wrapper's wall time
// into launch (fork of the wrapper until the child runs) and teardown (child
// exit until the wrapper has exited).
package main

import (
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

func main() {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(&ts)), 0)
	os.Stdout.WriteString(strconv.FormatInt(ts.Nano(), 10) + "\n")
}
