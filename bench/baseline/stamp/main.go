//go:build linux

// Command stamp prints CLOCK_MONOTONIC in nanoseconds as soon as its main runs,
// then exits 0. As the child of a wrapper it splits the wrapper's wall time
// into launch (fork of the wrapper until the child runs) and teardown (child
// exit until the wrapper has exited). With STAMP_FILE set it writes the stamp
// there instead: supervisord and s6-supervise send a program's stdout to logs
// of their own and start it without arguments.
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
	line := strconv.FormatInt(ts.Nano(), 10) + "\n"
	if f := os.Getenv("STAMP_FILE"); f != "" {
		os.WriteFile(f, []byte(line), 0o644)
		return
	}
	os.Stdout.WriteString(line)
}
