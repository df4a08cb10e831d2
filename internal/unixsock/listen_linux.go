package unixsock

import (
	"net"
	"os"
	"syscall"
)

// listenUnix is net.ListenUnix("unix", addr) without package net's first
// look at the listen backlog: net reads /proc/sys/net/core/somaxconn into a
// 64 KiB buffer, and the kernel allocates and zeroes a buffer that large for
// each of its two reads of a sysctl file, about 0.1 ms of every hcinit start
// (perf). The socket is made, bound and put to listen here with the backlog
// net would use, then handed to net (net.FileListener), which deletes the
// socket file on Close as a listener of net.ListenUnix's does. Errors read as
// net.ListenUnix's. When somaxconn is not a plain number in 1..65535 it is
// net.ListenUnix itself, whose rules for those cases (the kernel's version
// decides the cap) stay net's.
func listenUnix(addr string) (*net.UnixListener, error) {
	backlog := somaxconn()
	if backlog <= 0 || backlog > 1<<16-1 {
		return net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	}
	fail := func(call string, err error) error {
		return &net.OpError{Op: "listen", Net: "unix", Addr: &net.UnixAddr{Name: addr, Net: "unix"}, Err: os.NewSyscallError(call, err)}
	}
	s, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fail("socket", err)
	}
	// "@name" is an abstract address: syscall turns the @ into a NUL byte,
	// as net does.
	if err := syscall.Bind(s, &syscall.SockaddrUnix{Name: addr}); err != nil {
		syscall.Close(s)
		return nil, fail("bind", err)
	}
	if err := syscall.Listen(s, backlog); err != nil {
		syscall.Close(s)
		return nil, fail("listen", err)
	}
	f := os.NewFile(uintptr(s), addr)
	ln, err := net.FileListener(f) // a duplicate of s, registered with net's poller
	f.Close()
	if err != nil {
		if addr[0] != '@' {
			os.Remove(addr)
		}
		return nil, err
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(true) // as net.ListenUnix's listener (an abstract name has no file)
	return ul, nil
}

// somaxconn returns /proc/sys/net/core/somaxconn as net reads it (its first
// field), or 0 when it cannot be read or is not a number. It reads into a
// small buffer: see listenUnix.
func somaxconn() int {
	fd, err := syscall.Open("/proc/sys/net/core/somaxconn", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0
	}
	var b [32]byte
	n, err := syscall.Read(fd, b[:])
	syscall.Close(fd)
	if err != nil || n <= 0 {
		return 0
	}
	v := 0
	for i, c := range b[:n] {
		switch {
		case '0' <= c && c <= '9' && v <= (1<<31-1-9)/10: // v*10+9 fits an int32 (32-bit builds)
			v = v*10 + int(c-'0')
		case i > 0 && (c == '\n' || c == ' ' || c == '\t'):
			return v
		default:
			return 0
		}
	}
	return 0 // no line end within 32 bytes: let net read it
}
