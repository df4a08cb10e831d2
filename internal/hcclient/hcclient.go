// Package probe is the one place that talks to a health socket as a client: it
// finds the socket (explicit address, $HEALTHCHECK_SOCKET, or a name file) and
// performs one v1 request/reply exchange under a single deadline.
//
// It never forks and never logs, and retries only a connect that a full
// listen backlog refused (EAGAIN: the server is busy, not gone), within the
// deadline; the callers (the client
// package's -healthcheck hook and hcinit's check command) decide what a reply
// means.
package hcclient

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

// refusedWord is written to a server the caller refuses before hanging up:
// internal/unixsock's StaleRequest, a request no server takes for a check.
const refusedWord = "hc-stale-check"

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

// ExchangeVerified dials addr, writes request ("" means common.HealthcheckIPCCommand),
// and returns the reply with surrounding white space trimmed. The reply is read
// until the server closes the connection or common.BufferSize bytes arrived.
// The whole exchange ends by ctx's deadline or after timeout (0 means
// DefaultTimeout), whichever comes first.
//
// After writing, the write side is shut down where the transport allows it,
// but the exchange does not rely on that: v1.0.x servers answer after reading
// a single message.
//
// verify, when not nil, vets the server once connected,
// before the request is sent to it (an error of verify's is the exchange's;
// a refused server gets only a neutral word, refusedWord, so that a v1.0.x
// server does not take the hang-up for a failure and stop).
func ExchangeVerified(ctx context.Context, addr, request string, timeout time.Duration, verify func(net.Conn) error) (string, error) {
	return exchange(ctx, addr, request, timeout, verify)
}

// exchange is ExchangeVerified; verify, when not nil, vets the server once connected,
// before the request is sent to it.
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
			// Not believed, but not hung up on without a word either: a
			// go-healthcheck v1.0.x server takes a read that ends in EOF
			// for a failure and cancels its whole server (another
			// container's app, whose own health checks would fail from
			// then on). The word is the stale-socket probe's, which every
			// server answers with its usage text; nothing is read back.
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			io.WriteString(conn, refusedWord)
			return "", fmt.Errorf("%s: %w", addr, err)
		}
	}
	reply, werr, rerr := roundTrip(ctx, conn, request, common.BufferSize)
	if werr != nil {
		return "", fmt.Errorf("write request to %s: %w", addr, ctxErr(ctx, werr))
	}
	// A reply followed by a reset or a late deadline is still the reply: the
	// v1.0.x client took whatever its single read returned.
	if rerr != nil && len(reply) == 0 {
		return "", fmt.Errorf("read reply from %s: %w", addr, ctxErr(ctx, rerr))
	}
	return string(bytes.TrimSpace(reply)), nil
}

// roundTrip writes word on conn, shuts down its write side where the transport
// allows it, and reads the reply (at most limit bytes) until the server closes
// the connection, all by ctx's deadline. It reads even after a failed write:
// a server that refuses the caller may answer and close before the word lands.
func roundTrip(ctx context.Context, conn net.Conn, word string, limit int64) (reply []byte, werr, rerr error) {
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	// A cancellation without a deadline still has to interrupt blocked I/O.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	_, werr = io.WriteString(conn, word)
	if cw, ok := conn.(interface{ CloseWrite() error }); ok && werr == nil {
		cw.CloseWrite() // best effort; v1.0.x servers answer after a single read
	}
	var buf bytes.Buffer
	_, rerr = buf.ReadFrom(io.LimitReader(conn, limit))
	return buf.Bytes(), werr, rerr
}

// The words `hcinit check` and `hcinit status` send to hcinit's wrapper
// socket (supervisor/health answers them).
const (
	WordPing   = common.HealthcheckIPCCommand // overall health, v1.0.x compatible
	WordLive   = "live"
	WordReady  = "ready"
	WordStatus = "status" // the JSON Status
)

// MaxStatus bounds a status reply (Ask with "status").
const MaxStatus = 1 << 20

// Ask sends word to the first of addrs where this container's hcinit answers
// (see VerifyPeer) and returns the reply (at most limit bytes, white space
// trimmed). It is `hcinit check` and `hcinit status`: the addresses are
// hcinit's wrapper sockets, the words "ping", "live", "ready" and "status".
// It never forks and stops by deadline.
//
// A deadline, not a context: a context with a timeout starts a runtime timer,
// and that the network poller. On Linux each exchange runs on a blocking
// socket instead (askDirect): `hcinit check` is a fresh process, where that
// start-up is a good part of the work.
//
// A container's exec probe can run in the first milliseconds of its
// container, before PID 1 hcinit has bound its sockets (the kubelet runs a
// readiness probe as soon as the container starts). When nothing listens at
// any address (or only another container's server) and PID 1 runs this same
// program and started less than startBound ago, Ask asks again every 5 ms
// until startingUntil: the answer is then hcinit's own (live while starting,
// not ready), never one made up here. Elsewhere it fails at once, as before.
func Ask(deadline time.Time, addrs []string, word string, limit int64) (string, error) {
	var until time.Time
	looked := false
	for {
		reply, errs, absent := askEach(deadline, addrs, word, limit)
		if errs == nil {
			return reply, nil
		}
		if absent && !looked {
			until, looked = startingUntil(deadline), true
		}
		if !absent || !time.Now().Add(startPoll).Before(until) {
			return "", fmt.Errorf("no hcinit answered: %s", strings.Join(errs, "; "))
		}
		time.Sleep(startPoll)
	}
}

// startPoll is how often Ask looks again for a hcinit that is starting.
const startPoll = 5 * time.Millisecond

// askEach is one pass of Ask over addrs: the first reply, or every error and
// whether all of them say no server of this container is there yet (nothing
// listens, or another container's server does).
func askEach(deadline time.Time, addrs []string, word string, limit int64) (string, []string, bool) {
	var errs []string
	absent := true
	for _, addr := range addrs {
		reply, err := ask(deadline, addr, word, limit)
		// Closed without a word: under a flood the server may have evicted
		// this connection before reading it (package admit). Ask again, twice
		// at most, within the deadline.
		for try := 1; try <= 2 && errors.Is(err, errNoWord) && time.Now().Before(deadline); try++ {
			time.Sleep(min(time.Duration(try)*10*time.Millisecond, time.Until(deadline)))
			reply, err = ask(deadline, addr, word, limit)
		}
		if err == nil {
			return reply, nil, false
		}
		errs = append(errs, err.Error())
		absent = absent && (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, ErrForeign))
		if !time.Now().Before(deadline) {
			break
		}
	}
	return "", errs, absent
}

// exchangeBy is one of Ask's exchanges with addr: err is a failed dial or a
// refused peer.
func exchangeBy(deadline time.Time, addr, word string, limit int64) (reply []byte, werr, rerr, err error) {
	if direct {
		return askDirect(deadline, addr, word, limit)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	return askConn(ctx, addr, word, limit)
}

// errNoWord: the server closed (or reset) the connection without a reply.
var errNoWord = errors.New("closed without a reply")

// ask is one of Ask's exchanges: unlike ExchangeVerified, an empty reply is an error
// (hcinit always answers something), and a reply after a failed write counts.
// A reply counts only whole: hcinit writes its reply and closes, so one the
// server did not end by the deadline, or longer than limit, may go on with
// anything ("healthy" then "…-ish"); it is an error, whatever came so far.
func ask(deadline time.Time, addr, word string, limit int64) (string, error) {
	reply, werr, rerr, err := exchangeBy(deadline, addr, word, limit+1)
	if err != nil {
		return "", err
	}
	if int64(len(reply)) > limit {
		return "", fmt.Errorf("read reply from %s: longer than %d bytes", addr, limit)
	}
	if ne := net.Error(nil); len(reply) > 0 && errors.As(rerr, &ne) && ne.Timeout() {
		return "", fmt.Errorf("read reply from %s: %w, the reply unfinished (%d bytes: %.40q)", addr, rerr, len(reply), reply)
	}
	if werr != nil && len(reply) == 0 {
		if errors.Is(werr, syscall.EPIPE) || errors.Is(werr, syscall.ECONNRESET) {
			werr = fmt.Errorf("%w (%w)", errNoWord, werr)
		}
		return "", fmt.Errorf("ask %s: %w", addr, werr)
	}
	if rerr != nil && len(reply) == 0 && !errors.Is(rerr, syscall.ECONNRESET) {
		return "", fmt.Errorf("read reply from %s: %w", addr, rerr)
	}
	if len(reply) == 0 {
		return "", fmt.Errorf("read reply from %s: %w", addr, errNoWord)
	}
	return string(bytes.TrimSpace(reply)), nil
}

// askConn is ask's exchange through the net package: dial, verify the peer,
// roundTrip. err is a failed dial or a refused peer.
func askConn(ctx context.Context, addr, word string, limit int64) (reply []byte, werr, rerr, err error) {
	conn, err := dial(ctx, addr) // retries a full backlog (EAGAIN)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dial %s: %w", addr, errors.Unwrap(err))
	}
	defer conn.Close()
	// Only this container's hcinit may answer: an abstract socket is shared by
	// every container of a network namespace (a pod, --network container:X),
	// a file socket by whoever shares its directory. Vetted before a word is
	// sent, so a foreign server learns nothing.
	if err := verifyAskPeer(conn); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", addr, err)
	}
	reply, werr, rerr = roundTrip(ctx, conn, word, limit)
	return reply, werr, rerr, nil
}

// Check resolves the server with Resolve and performs one ExchangeVerified with a
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
		if pid := PeerPid(conn); pid != 1 {
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
