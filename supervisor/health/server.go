package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/common"
)

// Request words on the wrapper socket.
const (
	wordPing   = common.HealthcheckIPCCommand // overall health, v1.0.x compatible
	wordLive   = "live"
	wordReady  = "ready"
	wordStatus = "status" // the JSON Status
)

var words = []string{wordPing, wordLive, wordReady, wordStatus}

// ioTimeout bounds reading a request and writing a reply, per connection.
const ioTimeout = 5 * time.Second

// errLive says a socket address is in use by a live server.
var errLive = errors.New("a live server answers there")

// socketAddrs splits a --socket / $HCINIT_SOCKET value; "" gives DefaultSockets.
func socketAddrs(s string) []string {
	if s == "" {
		s = os.Getenv(EnvSocket)
	}
	if s == "" {
		return DefaultSockets()
	}
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// bindWrapper listens on every wrapper address it can. Failing everywhere is
// logged, never fatal: supervising matters more than answering.
func (m *Monitor) bindWrapper() {
	explicit := m.cfg.Socket != "" || os.Getenv(EnvSocket) != ""
	for _, addr := range socketAddrs(m.cfg.Socket) {
		ln, err := m.listen(addr)
		log := m.log.WithField("path", addr)
		switch {
		case errors.Is(err, errLive):
			log.Warn("health socket in use by another live server: not taking it over")
		case err != nil && explicit:
			log.WithError(err).Warn("cannot listen on health socket")
		case err != nil:
			log.WithError(err).Debug("cannot listen on health socket")
		default:
			m.listeners = append(m.listeners, ln)
			log.Debug("listening on health socket")
		}
	}
	if len(m.listeners) == 0 {
		m.log.Error("no health socket could be bound: `hcinit check` will not reach this hcinit")
	}
}

// listen binds a unix stream socket at addr ('@' = abstract). A stale socket
// file (connection refused) is replaced; a live one is left alone (errLive).
// A file socket gets mode 0660, its group the child's when hcinit is root.
func (m *Monitor) listen(addr string) (*net.UnixListener, error) {
	abstract := strings.HasPrefix(addr, "@")
	if !abstract {
		if fi, err := os.Lstat(addr); err == nil {
			if fi.Mode()&os.ModeSocket == 0 {
				return nil, fmt.Errorf("listen on %s: exists and is not a socket", addr)
			}
			conn, err := net.DialTimeout("unix", addr, time.Second)
			if err == nil {
				conn.Close()
				return nil, errLive
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				return nil, fmt.Errorf("probe existing socket %s: %w", addr, err)
			}
			os.Remove(addr)
		}
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
	if err != nil {
		if abstract && errors.Is(err, syscall.EADDRINUSE) {
			return nil, errLive
		}
		return nil, err
	}
	if !abstract {
		if err := os.Chmod(addr, 0o660); err != nil {
			ln.Close()
			return nil, fmt.Errorf("restrict socket %s: %w", addr, err)
		}
		m.chownToChild(addr, false)
	}
	return ln, nil
}

// peerAllowed reports whether uid may talk to hcinit: root, hcinit's own user
// and the child's.
func (m *Monitor) peerAllowed(uid int) bool {
	if uid == 0 || uid == os.Getuid() {
		return true
	}
	if m.cfg.ChildUID != nil {
		if u := m.cfg.ChildUID(); u >= 0 && u == uid {
			return true
		}
	}
	if cred := m.childCred(); cred != nil && int(cred.Uid) == uid {
		return true
	}
	return false
}

// requestTimeout bounds the wait for a request: hcinit check and v1.0.x
// clients write theirs right after connecting. refusedTimeout is the same for
// a peer that will only be told no.
const (
	requestTimeout = 2 * time.Second
	refusedTimeout = 200 * time.Millisecond
)

// serve accepts connections until the listener is closed, one goroutine per
// connection, at most maxConns at once.
func (m *Monitor) serve(ln *net.UnixListener) {
	defer m.wg.Done()
	m.acceptLoop(ln, m.sem, "accept health connection", func(c net.Conn) { m.handle(c.(*net.UnixConn)) })
}

// acceptLoop accepts on ln until it is closed or the monitor stops, and runs
// handle for each connection in a goroutine of its own, holding a slot of sem
// (so at most cap(sem) at once; more wait in the listen backlog). Accept
// errors such as running out of file descriptors back off like net/http's.
func (m *Monitor) acceptLoop(ln net.Listener, sem chan struct{}, what string, handle func(net.Conn)) {
	backoff := time.Duration(0)
	for {
		select {
		case sem <- struct{}{}:
		case <-m.ctx.Done():
			return
		}
		conn, err := ln.Accept()
		if err != nil {
			<-sem
			if m.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			m.log.WithError(err).Warn(what)
			select {
			case <-time.After(backoff):
			case <-m.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer func() { <-sem }()
			handle(conn)
		}()
	}
}

// handle answers one request from the current state; it never runs a check.
func (m *Monitor) handle(conn *net.UnixConn) {
	defer conn.Close()
	stop := context.AfterFunc(m.ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	// The peer is checked at once: a refused one gets a short deadline, so
	// that silent connections of a foreign uid cannot hold the slots that
	// hcinit check needs. Its request is still read, so that it reads the
	// refusal instead of a reset.
	uid := peerUID(conn)
	allowed := m.peerAllowed(uid)
	deadline := requestTimeout
	if !allowed {
		deadline = refusedTimeout
	}
	conn.SetReadDeadline(time.Now().Add(deadline))
	req, err := common.ReadRequest(conn, words...)
	if err != nil && req == "" {
		return
	}
	var reply []byte
	switch {
	case !allowed:
		reply = fmt.Appendf(nil, "permission denied: uid %d may not ask hcinit", uid)
	case req == wordPing, req == wordLive, req == wordReady:
		reply = []byte(m.reply(req))
	case req == wordStatus:
		reply, _ = json.Marshal(m.Status())
	default:
		reply = []byte(common.InvalidRequestResponse)
	}
	conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	conn.Write(reply)
}

// peerUID returns the uid of the process at the other end, -1 when unknown.
func peerUID(conn *net.UnixConn) int {
	raw, err := conn.SyscallConn()
	if err != nil {
		return -1
	}
	uid := -1
	raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			uid = int(cred.Uid)
		}
	})
	return uid
}
