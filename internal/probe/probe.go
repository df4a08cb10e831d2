// Package probe is the one place that talks to a health socket as a client: it
// finds the socket (explicit address, $HEALTHCHECK_SOCKET, or a name file) and
// performs one v1 request/reply exchange under a single deadline.
//
// It never forks and never logs, and retries only a connect that a full
// listen backlog refused (EAGAIN: the server is busy, not gone), within the
// deadline; the callers (the client
// package's -healthcheck hook and hcinit's check command) decide what a reply
// means.
package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
)

// DefaultTimeout bounds a whole exchange (dial, write, read) when Options.Timeout
// is zero. It matches the v1.0.x client's read deadline.
const DefaultTimeout = 10 * time.Second

// Options say where to find the server and how to ask it. The zero value probes
// the way a v1.0.x client does, after honouring the environment variables
// common.EnvSocket, common.EnvNameFile and common.EnvSocketDir.
type Options struct {
	// Socket is an explicit address: a unix socket path, "@name" for a Linux
	// abstract socket, or a named pipe path on Windows. It wins over everything.
	Socket string
	// NameFile is the name file read when no address is given; "" means
	// common.NameFilePath().
	NameFile string
	// Dir is the directory a name resolves against; "" means common.SocketDir().
	Dir string
	// Request is the request word; "" means common.HealthcheckIPCCommand.
	Request string
	// Timeout bounds the whole exchange; 0 means DefaultTimeout.
	Timeout time.Duration
}

// WellKnown is the address tried when there is no name file: hcinit's abstract
// socket on Linux, nothing elsewhere.
const WellKnown = wellKnown

// Resolve returns the address to dial: o.Socket when set, else
// $HEALTHCHECK_SOCKET, else the socket whose name is stored in the name file,
// else (no name file at the default place) WellKnown.
// Its errors name the file or path that failed.
func Resolve(o Options) (string, error) {
	if o.Socket != "" {
		return o.Socket, nil
	}
	if addr := os.Getenv(common.EnvSocket); addr != "" {
		return addr, nil
	}
	nameFile := o.NameFile
	if nameFile == "" {
		nameFile = common.NameFilePath()
	}
	name, err := common.ReadNameFile(nameFile)
	if err != nil {
		// No name file here (another working directory, a read-only one): the
		// process may run under hcinit, whose socket needs no file at all.
		if o.NameFile == "" && WellKnown != "" && errors.Is(err, fs.ErrNotExist) {
			return WellKnown, nil
		}
		return "", fmt.Errorf("resolve socket: %w", err)
	}
	addr, err := common.SocketPath(o.Dir, name)
	if err != nil {
		return "", fmt.Errorf("resolve socket: name file %s: %w", nameFile, err)
	}
	return addr, nil
}

// Dial connects to addr as Exchange does: a connect refused by a full listen
// backlog is retried until ctx ends.
func Dial(ctx context.Context, addr string) (net.Conn, error) {
	return dial(ctx, addr)
}

// Exchange dials addr, writes request ("" means common.HealthcheckIPCCommand),
// and returns the reply with surrounding white space trimmed. The reply is read
// until the server closes the connection or common.BufferSize bytes arrived.
// The whole exchange ends by ctx's deadline or after timeout (0 means
// DefaultTimeout), whichever comes first.
//
// After writing, the write side is shut down where the transport allows it,
// but the exchange does not rely on that: v1.0.x servers answer after reading
// a single message.
func Exchange(ctx context.Context, addr, request string, timeout time.Duration) (string, error) {
	return exchange(ctx, addr, request, timeout, nil)
}

// exchange is Exchange; verify, when not nil, vets the server once connected,
// before a word is sent to it.
func exchange(ctx context.Context, addr, request string, timeout time.Duration, verify func(net.Conn) error) (string, error) {
	if request == "" {
		request = common.HealthcheckIPCCommand
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	conn, err := dial(ctx, addr)
	if err != nil {
		return "", fmt.Errorf("dial %s: %w", addr, err)
	}
	defer conn.Close()
	if verify != nil {
		if err := verify(conn); err != nil {
			return "", fmt.Errorf("%s: %w", addr, err)
		}
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	// A cancellation without a deadline still has to interrupt blocked I/O.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := io.WriteString(conn, request); err != nil {
		return "", fmt.Errorf("write request to %s: %w", addr, ctxErr(ctx, err))
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite() // best effort; see the doc comment
	}

	var buf bytes.Buffer
	_, err = buf.ReadFrom(io.LimitReader(conn, common.BufferSize))
	// A reply followed by a reset or a late deadline is still the reply: the
	// v1.0.x client took whatever its single read returned.
	if err != nil && buf.Len() == 0 {
		return "", fmt.Errorf("read reply from %s: %w", addr, ctxErr(ctx, err))
	}
	return string(bytes.TrimSpace(buf.Bytes())), nil
}

// Check resolves the server with Resolve and performs one Exchange with a
// server that VerifyPeer proves to be in the caller's container. It returns
// the reply and a nil error whenever the exchange worked, whatever the reply
// says; callers compare it with common.HealthcheckIPCResponse.
//
// With no address and no name file it looks for hcinit at HcinitSockets, and
// believes only its own container's: in the caller's mount namespace and,
// where there is no container (the host's pid namespace), its init. It never
// borrows another container's hcinit, nor one on the host that is not its own.
func Check(ctx context.Context, o Options) (string, error) {
	addr, err := Resolve(o)
	if err != nil {
		return "", err
	}
	if addr != WellKnown || o.Socket != "" || os.Getenv(common.EnvSocket) != "" {
		return exchange(ctx, addr, o.Request, o.Timeout, VerifyPeer)
	}
	// The fallback: hcinit's sockets, under one deadline.
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var why []string
	for _, a := range HcinitSockets() {
		reply, err := exchange(ctx, a, o.Request, timeout, verifyOwnHcinit)
		if err == nil {
			return reply, nil
		}
		why = append(why, shortReason(a, err))
		if ctx.Err() != nil {
			break
		}
	}
	// Say what was looked for first: the name file, then hcinit.
	return "", fmt.Errorf("resolve socket: read name file %s: not found, and no hcinit of this container answered (%s)",
		common.NameFilePath(), strings.Join(why, "; "))
}

// verifyOwnHcinit is VerifyPeer, and on the host (the initial pid namespace,
// where every process shares the mount namespace) the server must also be
// the init: a hcinit there is some other program's, not provably the caller's.
func verifyOwnHcinit(conn net.Conn) error {
	if err := VerifyPeer(conn); err != nil {
		return err
	}
	if hostPidNS() {
		if pid := peerPid(conn); pid != 1 {
			return fmt.Errorf("%w: pid %d on the host, not a container's init", ErrForeign, pid)
		}
	}
	return nil
}

// shortReason says in a few words why addr did not answer: nothing there, or
// the whole reason.
func shortReason(addr string, err error) string {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
		return addr + ": none"
	}
	return strings.TrimPrefix(err.Error(), "dial ")
}

// ctxErr reports an i/o timeout the context caused as the context's error,
// keeping the i/o error in the chain. The socket deadline may fire a moment
// before the context's own timer.
func ctxErr(ctx context.Context, err error) error {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return err
	}
	cause := ctx.Err()
	if d, ok := ctx.Deadline(); cause == nil && ok && !time.Now().Before(d) {
		cause = context.DeadlineExceeded
	}
	if cause == nil {
		return err
	}
	return fmt.Errorf("%w (%w)", cause, err)
}
