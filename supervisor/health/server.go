package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/admit"
	"github.com/wisdom-oss/go-healthcheck/internal/hcclient"
	"github.com/wisdom-oss/go-healthcheck/internal/unixsock"
)

// Request words on the wrapper socket, as hcinit check sends them.
const (
	wordPing   = hcclient.WordPing // overall health, v1.0.x compatible
	wordLive   = hcclient.WordLive
	wordReady  = hcclient.WordReady
	wordStatus = hcclient.WordStatus // the JSON Status
)

var words = []string{wordPing, wordLive, wordReady, wordStatus}

// ioTimeout bounds reading a request and writing a reply, per connection.
const ioTimeout = 5 * time.Second

// ErrUnbound marks an address hcinit was told to serve on (--socket,
// --http) that cannot be bound: a start-up error, not a usage error.
var ErrUnbound = errors.New("cannot be bound")

// errLive says a socket address is in use by a live server.
var errLive = errors.New("a live server answers there")

// SocketAddrs splits a --socket value (hcinit's $HCINIT_SOCKET is its
// environment twin, read with the other options); "" gives DefaultSockets.
func SocketAddrs(s string) []string {
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

// bindWrapper listens on the wrapper addresses. The default ones are
// best-effort: one that cannot be bound is logged and skipped, as is failing
// on all of them (supervising matters more than answering). An address the
// user named (--socket, HCINIT_SOCKET) that cannot be bound is an error, as a
// taken --http port is: a client told that address would be answered by
// whoever holds it, or by no one, for as long as hcinit runs.
func (m *Monitor) bindWrapper() error {
	explicit := m.cfg.Socket != ""
	addrs := SocketAddrs(m.cfg.Socket)
	if explicit && len(addrs) == 0 {
		return fmt.Errorf("--socket %q names no socket (\"\" for the defaults)", m.cfg.Socket)
	}
	for _, addr := range addrs {
		ln, err := m.listen(addr)
		log := m.log.WithField("path", addr)
		switch {
		case err != nil && explicit:
			return explicitSocketError(addr, err)
		case errors.Is(err, errLive) && anotherContainers(addr):
			// A pod's containers share the abstract sockets and /dev/shm:
			// each has its own hcinit, and `hcinit check` passes the other's
			// by (hcclient.VerifyPeer). Nothing to warn about.
			log.Debug("health socket held by another container's hcinit: not taking it over")
		case errors.Is(err, errLive) && m.parentName != "":
			// Below another hcinit (nested.go), which answers for this one.
			log.Debug("health socket in use by another live server (the parent hcinit asks this one): not taking it over")
		case errors.Is(err, errLive):
			log.Warn("health socket in use by another live server: not taking it over")
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
	return nil
}

// explicitSocketError says why the named wrapper address addr cannot be
// bound, in one line.
func explicitSocketError(addr string, err error) error {
	why := err.Error()
	switch {
	case errors.Is(err, errLive) && anotherContainers(addr):
		why = "another container's hcinit answers there (name another address)"
	case errors.Is(err, errLive):
		why = "a live server answers there, not taking it over (another hcinit? name another address)"
	}
	return fmt.Errorf("health socket %q (--socket, HCINIT_SOCKET) %w: %s", addr, ErrUnbound, why)
}

// anotherContainers reports whether the live server at addr is provably in
// another container (another pid or mount namespace), as a client would
// judge it.
func anotherContainers(addr string) bool {
	c, err := net.DialTimeout("unix", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	return errors.Is(hcclient.VerifyPeer(c), hcclient.ErrForeign)
}

// listen binds a unix stream socket at addr ('@' = abstract) as the library's
// server does (internal/unixsock): a stale socket file is replaced; a live one
// is left alone (errLive). A file socket gets mode 0660, its group the child's
// when hcinit is root.
func (m *Monitor) listen(addr string) (*net.UnixListener, error) {
	ln, err := unixsock.Listen(addr, 0o660)
	if errors.Is(err, unixsock.ErrLive) {
		return nil, errLive
	}
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(addr, "@") {
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
	if cred := m.childCred(); cred != nil && int(cred.Uid) == uid {
		return true
	}
	return false
}

// requestTimeout bounds the wait for a request: hcinit check and v1.0.x
// clients write theirs right after connecting. refusedTimeout bounds writing
// the refusal to a peer that will only be told no.
const (
	requestTimeout = 2 * time.Second
	refusedTimeout = 200 * time.Millisecond
)

// socketServer is the wrapper sockets' actor: it answers from a status
// function and never runs a check; it knows nothing else of the checks.
type socketServer struct {
	status  func() Status
	brief   func() Status      // replyFrom's fields only (see Monitor.briefStatus)
	allowed func(uid int) bool // may this peer ask
	conns   *admit.Pool        // allowed peers' connections
	accept  acceptor
}

// sockets is the wrapper sockets' actor of m.
func (m *Monitor) sockets() socketServer {
	return socketServer{status: m.Status, brief: m.briefStatus, allowed: m.peerAllowed, conns: m.conns, accept: m.acceptor()}
}

// briefStatus is Status with only what ping, live and ready answer from:
// Overall, Live and Ready and their reasons, computed as Status computes
// them, without copying every check and its results (a storm of probes asks
// thousands of times).
func (m *Monitor) briefStatus() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	views := m.viewsLocked()
	var notify *NotifyStatus
	if m.notify != nil {
		notify = m.notify.snapshot()
	}
	var st Status
	st.Overall, st.Reason = overall(views, m.child, true)
	st.Live, st.LiveReason = live(views, m.child, st.Reason, true)
	st.Ready, st.ReadyReason = ready(views, m.child, notify, st.Reason, true)
	return st
}

// serve accepts connections until the listener is closed. A refused peer is
// answered at once, in the accept loop, and closed: it never holds a
// descriptor or a goroutine, so a flood of another uid's connections only
// costs three system calls each. An allowed peer's connection takes a place
// in s.conns: a flood of silent ones evicts its own oldest connections, never
// a new honest client's (see package admit).
func (s socketServer) serve(ln *net.UnixListener) {
	s.accept.loop(ln, "accept health connection", func(c net.Conn) func() {
		uc := c.(*net.UnixConn)
		uid := peerUID(uc)
		if !s.allowed(uid) {
			refuse(uc, uid)
			return nil
		}
		pc := s.conns.Admit(c)
		return func() { s.handle(pc) }
	})
}

// refuse tells a peer it may not ask, without reading its request: the reply
// fits the socket buffer, and a unix socket delivers it before the reset
// that closing with its request unread causes.
func refuse(c *net.UnixConn, uid int) {
	c.SetWriteDeadline(time.Now().Add(refusedTimeout))
	c.Write(fmt.Appendf(nil, "permission denied: uid %d may not ask hcinit", uid))
	c.Close()
}

// acceptor runs accept loops (the wrapper sockets', --http's) until ctx
// ends: each admitted connection is answered in a goroutine of its own,
// joined by wg, and trim learns when a burst of them is over.
type acceptor struct {
	ctx  context.Context
	log  *logrus.Entry
	wg   *sync.WaitGroup
	trim *trimmer
}

func (m *Monitor) acceptor() acceptor {
	return acceptor{ctx: m.ctx, log: m.log, wg: &m.wg, trim: &m.trim}
}

// loop accepts on ln until it is closed or the monitor stops. It never
// waits for a free slot: admit runs for each connection at once (it takes
// the connection into a pool, which may evict an older one) and returns the
// work that answers it, run in a goroutine of its own (nil: already done).
// Accept errors such as running out of file descriptors back off like
// net/http's.
func (a acceptor) loop(ln net.Listener, what string, admit func(net.Conn) func()) {
	backoff := time.Duration(0)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if a.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			a.log.WithError(err).Warn(what)
			select {
			case <-time.After(backoff):
			case <-a.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		work := admit(conn)
		if work == nil {
			continue
		}
		a.wg.Add(1)
		a.trim.connStarted()
		go func() {
			defer a.wg.Done()
			defer a.trim.connDone()
			work()
		}()
	}
}

// handle answers one request of an allowed peer from the current state; it
// never runs a check.
func (s socketServer) handle(conn *admit.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(s.accept.ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	conn.SetReadDeadline(time.Now().Add(requestTimeout))
	req, err := common.ReadRequest(conn, words...)
	if err != nil && req == "" {
		return
	}
	conn.Busy()
	var reply []byte
	switch req {
	case wordPing, wordLive, wordReady:
		reply = []byte(replyFrom(req, s.brief()))
	case wordStatus:
		reply, _ = json.Marshal(s.status())
	default:
		reply = []byte(common.InvalidRequestResponse)
	}
	conn.SetWriteDeadline(time.Now().Add(ioTimeout))
	conn.Write(reply)
}

// peerUID returns the uid of the process at the other end, -1 when unknown
// (see provenUID).
func peerUID(conn *net.UnixConn) int {
	raw, err := conn.SyscallConn()
	if err != nil {
		return -1
	}
	uid, pid := -1, 0
	raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			uid, pid = int(cred.Uid), int(cred.Pid)
		}
	})
	return provenUID(uid, pid)
}

// overflowUID is the uid the kernel reports for a uid that has no mapping in
// the reader's user namespace (/proc/sys/kernel/overflowuid, 65534 unless
// changed): the same number as "nobody".
var overflowUID = sync.OnceValue(func() int {
	b, err := os.ReadFile("/proc/sys/kernel/overflowuid")
	if n, err2 := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && err2 == nil {
		return n
	}
	return 65534
})

// provenUID returns uid, or -1 when it may stand for "unknown": under a user
// namespace, every uid of the host that is not mapped into hcinit's
// namespace is reported as overflowUID, the very number a child running as
// nobody has. Such a peer is believed only when it lives in hcinit's own
// user namespace (its /proc/PID/ns/user is ours), where the number is its
// own; a peer of another namespace, or one whose pid is not visible (0: in
// another pid namespace), is unknown.
//
// In the initial user namespace every uid is mapped, so the number is always
// the peer's own. In a namespace that does not map it, no process of the
// namespace can have it, so it always means unknown.
func provenUID(uid, pid int) int {
	if uid != overflowUID() {
		return uid
	}
	switch overflowMapped() {
	case mappedAll:
		return uid
	case mappedNot:
		return -1
	}
	if pid <= 0 {
		return -1
	}
	ours, err1 := os.Readlink("/proc/self/ns/user")
	theirs, err2 := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/user")
	if err1 != nil || err2 != nil || ours != theirs {
		return -1
	}
	return uid
}

// How the overflow uid is mapped in hcinit's user namespace.
const (
	mappedAll = iota // the initial namespace: every uid is mapped
	mappedNot        // not mapped: no process here has it
	mappedToo        // mapped: a process here may have it, or it may mean unknown
)

var overflowMapped = sync.OnceValue(func() int {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return mappedToo // cannot tell: ask /proc for each peer
	}
	return uidMapped(string(b), overflowUID())
})

// uidMapped classifies uid against the lines of a uid_map ("inside outside
// count").
func uidMapped(uidMap string, uid int) int {
	mapped := false
	for _, line := range strings.Split(strings.TrimSpace(uidMap), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		in, err1 := strconv.ParseUint(f[0], 10, 64)
		out, err2 := strconv.ParseUint(f[1], 10, 64)
		n, err3 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if in == 0 && out == 0 && n == 4294967295 {
			return mappedAll
		}
		if uint64(uid) >= in && uint64(uid)-in < n {
			mapped = true
		}
	}
	if mapped {
		return mappedToo
	}
	return mappedNot
}
