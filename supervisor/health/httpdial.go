package health

// A plain http check to an IP address runs on a blocking socket, not on Go's
// network poller. A check is one short exchange per interval; through the
// poller each wait (the connect, then the answer) parks the goroutine and
// wakes threads to hand it back, and that scheduling, not the check, was
// most of its CPU (#15: a minimal client measured 2.2-2.5 ms per check with
// net.Dialer against 0.3-1.0 ms blocking, side by side on a loaded
// machine). A blocked system call holds one thread while it waits, which a
// few checks can afford. https, host names and IPv6 zones keep net.Dialer.
//
// No socket timeout is set: Linux restarts a blocked connect or recv
// interrupted by Go's signals (SA_RESTART) only without one. The check's
// context ends a wait instead: SetDeadline in the past shuts the socket
// down, which wakes any blocked call, as net.Conn's deadline does.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// dialTarget is where a check's URL connects, worked out once per URL, not
// per run (the parsing was code and allocations every second).
type dialTarget struct {
	addr  string         // host:port, for net.Dialer
	ap    netip.AddrPort // plain http to an IP address: dial a blocking socket …
	raddr *net.TCPAddr   // … with this address in its errors
	err   error          // the URL cannot be requested
}

// newDialTarget returns where u connects, or why it cannot (net/http's
// errors).
func newDialTarget(u *url.URL) *dialTarget {
	var port string
	switch u.Scheme {
	case "http":
		port = "80"
	case "https":
		port = "443"
	default:
		return &dialTarget{err: fmt.Errorf("unsupported protocol scheme %q", u.Scheme)}
	}
	if u.Host == "" {
		return &dialTarget{err: errors.New("http: no Host in request URL")}
	}
	if p := u.Port(); p != "" {
		port = p
	}
	host := u.Hostname()
	t := &dialTarget{addr: net.JoinHostPort(host, port)}
	if u.Scheme == "http" {
		ip, err := netip.ParseAddr(host)
		p, perr := strconv.ParseUint(port, 10, 16)
		if err == nil && perr == nil && ip.Zone() == "" {
			t.ap = netip.AddrPortFrom(ip.Unmap(), uint16(p))
			t.raddr = net.TCPAddrFromAddrPort(t.ap)
		}
	}
	return t
}

// dialCheck connects a check to t.
func dialCheck(ctx context.Context, t *dialTarget) (net.Conn, error) {
	if t.raddr != nil {
		return dialBlocking(ctx, t.ap, t.raddr)
	}
	return checkDialer.DialContext(ctx, "tcp", t.addr)
}

// dialBlocking connects a blocking TCP socket to ap (raddr is the same, for
// errors). Errors read as net.Dialer's: "dial tcp 127.0.0.1:1: connect:
// connection refused".
func dialBlocking(ctx context.Context, ap netip.AddrPort, raddr *net.TCPAddr) (net.Conn, error) {
	ip, port := ap.Addr(), int(ap.Port())
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return nil, opErr(err)
	}
	family, sa := syscall.AF_INET6, syscall.Sockaddr(&syscall.SockaddrInet6{Addr: ip.As16(), Port: port})
	if ip.Is4() {
		family, sa = syscall.AF_INET, &syscall.SockaddrInet4{Addr: ip.As4(), Port: port}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, opErr(os.NewSyscallError("socket", err))
	}
	c := &blockConn{fd: fd, raddr: raddr}
	stop := context.AfterFunc(ctx, c.abort)
	defer stop()
	// An interrupted connect goes on; calling it again waits for it, and
	// says EISCONN if it completed meanwhile.
	for interrupted := false; ; interrupted = true {
		err = syscall.Connect(fd, sa)
		if interrupted && err == syscall.EISCONN {
			err = nil
		}
		if err != syscall.EINTR {
			break
		}
	}
	if err == nil && c.aborted() {
		err = syscall.ECONNABORTED
	}
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, opErr(ctx.Err())
		}
		return nil, opErr(os.NewSyscallError("connect", err))
	}
	return c, nil
}

// blockConn is a connected blocking TCP socket.
type blockConn struct {
	fd    int
	raddr *net.TCPAddr

	mu     sync.Mutex
	closed bool
	shut   bool // shut down by abort
}

// abort wakes any blocked call and fails every later one.
func (c *blockConn) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.shut = true
		syscall.Shutdown(c.fd, syscall.SHUT_RDWR)
	}
}

func (c *blockConn) aborted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shut
}

func (c *blockConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(c.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, c.opError("read", err)
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (c *blockConn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := syscall.Write(c.fd, p[done:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return done, c.opError("write", err)
		}
		done += n
	}
	return done, nil
}

// opError reads as net's: "read tcp 127.0.0.1:5->127.0.0.1:8: read:
// connection reset by peer".
func (c *blockConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.raddr, Err: os.NewSyscallError(op, err)}
}

func (c *blockConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("close: already closed")
	}
	c.closed = true
	return syscall.Close(c.fd)
}

func (c *blockConn) LocalAddr() net.Addr {
	sa, err := syscall.Getsockname(c.fd)
	if err != nil {
		return nil
	}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
	case *syscall.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(sa.Addr[:]), Port: sa.Port}
	}
	return nil
}

func (c *blockConn) RemoteAddr() net.Addr { return c.raddr }

// SetDeadline, SetReadDeadline and SetWriteDeadline: a deadline in the past
// aborts the connection (what roundTrip's context does); no other deadline
// is kept, the check's context bounds the exchange.
func (c *blockConn) SetDeadline(t time.Time) error {
	if !t.After(time.Now()) {
		c.abort()
	}
	return nil
}

func (c *blockConn) SetReadDeadline(t time.Time) error  { return c.SetDeadline(t) }
func (c *blockConn) SetWriteDeadline(t time.Time) error { return c.SetDeadline(t) }
