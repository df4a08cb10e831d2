//go:build !windows

// Package unixsock is the one way the module listens on a unix stream socket
// that may already exist: the library's server and hcinit's wrapper sockets
// both use it. A stale socket file (nobody accepts) is replaced; a live
// server's is left alone (ErrLive), and the probe sends it StaleRequest before
// it closes, because a v1.0.x server stops itself when a connection closes
// without a request.
package unixsock

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// StaleRequest is what the liveness probe sends: a request v1.0.x and current
// servers answer with their invalid-request reply.
const StaleRequest = "hc-stale-check"

// ErrLive says a live server answers on the address.
var ErrLive = errors.New("a live server answers on this socket")

// probeTimeout bounds the liveness probe's dial and write.
const probeTimeout = time.Second

// Listen listens on addr ("@name" is a Linux abstract socket) and gives a file
// socket mode. An existing file socket nobody accepts on is replaced; one a
// server accepts on is an error wrapping ErrLive, as an abstract name in use
// is. Anything else at addr is left alone and is an error.
func Listen(addr string, mode fs.FileMode) (*net.UnixListener, error) {
	abstract := strings.HasPrefix(addr, "@")
	ln, err := listenUnix(addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		if abstract {
			return nil, fmt.Errorf("%s: %w", addr, ErrLive)
		}
		if err := removeStale(addr); err != nil {
			return nil, err
		}
		ln, err = listenUnix(addr)
	}
	if err != nil {
		return nil, err
	}
	testHookBound(addr)
	if !abstract {
		if err := restrict(addr, mode); err != nil {
			ln.Close()
			return nil, fmt.Errorf("restrict socket %s: %w", addr, err)
		}
	}
	return ln, nil
}

// testHookBound runs between bind and chmod (tests swap the socket there).
var testHookBound = func(addr string) {}

// removeStale removes the socket file at path if no server accepts on it.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket", path)
	}
	conn, err := net.DialTimeout("unix", path, probeTimeout)
	if err == nil {
		conn.SetDeadline(time.Now().Add(probeTimeout))
		io.WriteString(conn, StaleRequest)
		conn.Close()
		return fmt.Errorf("%s: %w", path, ErrLive)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("check existing socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}
