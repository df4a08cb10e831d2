package hcclient

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// direct: Ask's exchanges use askDirect.
const direct = true

// askDirect is ask's exchange (connect, verify the peer, write, read) on a
// blocking socket whose every call is bounded by deadline (SO_SNDTIMEO,
// SO_RCVTIMEO), without the network poller: no epoll instance, no hand-off
// to the poller's thread for each readiness. `hcinit check` is one such
// exchange in a fresh process, where those are a good part of the work.
//
// A connect to a full backlog waits in the kernel for room until the
// deadline (the poller's way was EAGAIN at once and retries), and reports
// EAGAIN if there is none by then. The errors read as the net package's.
func askDirect(deadline time.Time, addr, word string, limit int64) (reply []byte, werr, rerr, err error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dial %s: %w", addr, os.NewSyscallError("socket", err))
	}
	defer unix.Close(fd)
	if err := retryIntr(fd, deadline, unix.SO_SNDTIMEO, func() error {
		return unix.Connect(fd, &unix.SockaddrUnix{Name: addr})
	}); err != nil {
		return nil, nil, nil, fmt.Errorf("dial %s: %w", addr, os.NewSyscallError("connect", err))
	}
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: verify server: SO_PEERCRED: %w", addr, err)
	}
	if err := verifyServer(cred); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", addr, err)
	}
	werr = retryIntr(fd, deadline, unix.SO_SNDTIMEO, func() error {
		// MSG_NOSIGNAL: a server gone already is EPIPE, not SIGPIPE.
		return unix.Sendto(fd, []byte(word), unix.MSG_NOSIGNAL, nil)
	})
	if werr == nil {
		unix.Shutdown(fd, unix.SHUT_WR) // best effort, as roundTrip
	} else {
		werr = opError("write", addr, werr)
	}
	reply, rerr = readAll(fd, deadline, limit)
	if rerr != nil {
		rerr = opError("read", addr, rerr)
	}
	return reply, werr, rerr, nil
}

// readAll reads until the peer closes, limit bytes arrived or deadline.
func readAll(fd int, deadline time.Time, limit int64) ([]byte, error) {
	buf := make([]byte, 0, min(limit, 512))
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(int(limit)-len(buf), cap(buf)))
		}
		var n int
		err := retryIntr(fd, deadline, unix.SO_RCVTIMEO, func() (err error) {
			n, err = unix.Read(fd, buf[len(buf):min(cap(buf), int(limit))])
			return err
		})
		if err != nil || n <= 0 {
			return buf, err
		}
		buf = buf[:len(buf)+n]
	}
	return buf, nil
}

// retryIntr runs call with the socket's timeout opt set to what is left until
// deadline, again after EINTR (a call on a socket with a timeout is not
// restarted after a signal). Time up is EAGAIN.
func retryIntr(fd int, deadline time.Time, opt int, call func() error) error {
	for {
		left := time.Until(deadline)
		if left < time.Microsecond { // a zero timeout would mean none
			return unix.EAGAIN
		}
		tv := unix.NsecToTimeval(left.Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			return err
		}
		if err := call(); err != unix.EINTR {
			return err
		}
	}
}

// opError is the error the net package would report for op on a connection
// to addr: a timeout reads "i/o timeout", anything else "op: errno".
func opError(op, addr string, err error) error {
	if errors.Is(err, unix.EAGAIN) {
		err = os.ErrDeadlineExceeded
	} else {
		err = os.NewSyscallError(op, err)
	}
	return &net.OpError{Op: op, Net: "unix", Source: &net.UnixAddr{Name: "@", Net: "unix"},
		Addr: &net.UnixAddr{Name: addr, Net: "unix"}, Err: err}
}
