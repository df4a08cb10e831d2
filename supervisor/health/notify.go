package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/proc"
)

// NotifyAccess values, as systemd.service(5) names them.
const (
	NotifyAccessMain = "main" // the main process only (systemd's default for Type=notify)
	NotifyAccessExec = "exec" // the main process and any process of hcinit's tree
	NotifyAccessAll  = "all"  // any process of an allowed user
)

// notifier is the NOTIFY_SOCKET datagram socket and what the child said on it
// (sd_notify(3)). Which senders count is NotifyAccess= (systemd.service(5)),
// told apart by their credentials (SO_PASSCRED, SCM_CREDENTIALS); in every
// mode the sender must also be root, hcinit's or the child's user.
type notifier struct {
	d    notifyDeps
	conn *net.UnixConn
	addr string // the NOTIFY_SOCKET value
	path string // the socket file, "" for an abstract socket

	order  sync.Mutex    // orders reading a message with release
	held   []heldMsg     // refused as from no main process yet: see mayBeMain
	up     *net.UnixConn // to d.upstream, dialled on first use (relayUp's)
	upErr  bool          // a relay failure was logged (relayUp's)
	upQ    chan []byte   // to relayUp, set by run (n.order held); nil: no relay
	upFull bool          // a message dropped on a full upQ was logged (n.order held)
	// refusals since the last one logged, and when that was (see refuse)
	refusedN  int
	refusedAt time.Time

	mu           sync.Mutex
	since        time.Time // child start
	ready        bool      // READY=1 seen and no RELOADING=1/STOPPING=1 since
	everReady    bool
	status       string
	lastWatchdog time.Time
	watchdog     time.Duration
	triggered    bool
	readyAt      time.Time // first READY=1: the watchdog is armed from here
	resumed      time.Time // the end of a stall of hcinit (docker pause): a window starts here
	extended     time.Time // EXTEND_TIMEOUT_USEC=: no watchdog verdict before, until the next WATCHDOG=1
	stopped      bool      // STOPPING=1: final until the next child
	missed       bool      // the watchdog expired (or WATCHDOG=trigger); until the next WATCHDOG=1
	timer        *time.Timer
	due          time.Time     // when the armed timer fires: a look before the deadline, or the deadline
	waited       waits         // hcinit's waits to run, before the deadline (stall.go)
	waitedAt     time.Time     // when waited was read
	last         time.Time     // any message
	change       chan struct{} // closed and replaced on every message
}

// notifyDeps is what the notifier needs of the rest of hcinit: the access
// rule and the watchdog, who the main process is, and what to do when the
// child says something that acts (MAINPID=, a verdict).
type notifyDeps struct {
	access   string          // Config.NotifyAccess
	watchdog time.Duration   // Config.Watchdog
	ctx      context.Context // ends at Interrupt
	log      *logrus.Entry
	allowed  func(uid int) bool // the wrapper sockets' peer rule
	pid      func() int         // the main process, 0 while none
	kick     func()             // run the notify checks now
	fired    func()             // the watchdog expired or WATCHDOG=trigger: --watchdog-signal
	mainPID  func(pid int)      // MAINPID=
	extend   func(time.Time)    // EXTEND_TIMEOUT_USEC=, as the time it extends to; nil = none
	upstream string             // the NOTIFY_SOCKET hcinit inherited, "" when none: see relay
}

// newNotifier binds the socket in runtimeDir (chown hands it to the child's
// user), else as the abstract socket @hcinit-notify-<pid> (-<time> when
// another hcinit with the same pid holds that name).
func newNotifier(d notifyDeps, runtimeDir string, chown func(path string)) (*notifier, error) {
	n := &notifier{d: d, watchdog: d.watchdog, change: make(chan struct{})}
	if runtimeDir != "" {
		path := filepath.Join(runtimeDir, "notify-"+strconv.Itoa(os.Getpid())+".sock")
		conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if errors.Is(err, syscall.EADDRINUSE) {
			if c, derr := net.Dial("unixgram", path); derr == nil {
				// Live: another hcinit with the same pid, PID 1 of another
				// pid namespace sharing this directory. Taking its name
				// would take its child's messages.
				c.Close()
				path = filepath.Join(runtimeDir, fmt.Sprintf("notify-%d-%d.sock", os.Getpid(), time.Now().UnixNano()))
			} else {
				os.Remove(path) // ours from an earlier life with the same pid
			}
			conn, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		}
		if err == nil {
			os.Chmod(path, 0o600)
			chown(path) // permission to send is to write the file
			n.conn, n.addr, n.path = conn, path, path
		} else {
			d.log.WithError(err).WithField("path", path).Debug("notify socket not in the runtime directory")
		}
	}
	if n.conn == nil {
		addr := "@hcinit-notify-" + strconv.Itoa(os.Getpid())
		conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
		if errors.Is(err, syscall.EADDRINUSE) {
			// An abstract name is held only while its owner lives: another
			// hcinit with the same pid, PID 1 of another pid namespace
			// sharing this network namespace (a pod's containers).
			addr = fmt.Sprintf("@hcinit-notify-%d-%d", os.Getpid(), time.Now().UnixNano())
			conn, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
		}
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		n.conn, n.addr = conn, addr
	}
	if raw, err := n.conn.SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
		})
	}
	return n, nil
}

// run reads datagrams until the socket is closed.
func (n *notifier) run() {
	if n.d.upstream != "" {
		q, done := make(chan []byte, upQueue), make(chan struct{})
		n.order.Lock()
		n.upQ = q
		n.order.Unlock()
		go n.relayUp(q, done)
		defer func() {
			n.order.Lock()
			n.upQ = nil
			n.order.Unlock()
			close(q)
			<-done
		}()
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		nb, noob, flags, _, err := n.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			if n.d.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			n.d.log.WithError(err).Warn("read notify socket")
			continue
		}
		if flags&unix.MSG_TRUNC != 0 {
			// systemd drops a datagram larger than its buffer rather than
			// apply a cut message (src/core/manager.c, notify dispatch).
			n.d.log.WithField("limit", len(buf)).Warn("ignoring a notify message larger than the buffer")
			continue
		}
		uid, pid := -1, 0
		if msgs, err := unix.ParseSocketControlMessage(oob[:noob]); err == nil {
			for _, msg := range msgs {
				if cred, err := unix.ParseUnixCredentials(&msg); err == nil {
					uid, pid = int(cred.Uid), int(cred.Pid)
				}
			}
		}
		n.order.Lock()
		if !n.d.allowed(provenUID(uid, pid)) {
			n.refuse(n.d.log.WithField("uid", uid).WithField("pid", pid), "from a foreign user")
			n.order.Unlock()
			continue
		}
		switch why := n.refused(pid); {
		case n.holding(pid):
			n.hold(pid, buf[:nb]) // behind its earlier messages
		case why == "":
			n.handle(buf[:nb], time.Now())
		case n.mayBeMain(pid):
			n.hold(pid, buf[:nb])
		default:
			n.refuse(n.d.log.WithField("pid", pid).WithField("main_pid", n.d.pid()), why)
		}
		n.order.Unlock()
	}
}

// refusalLogEvery: after a refused message is logged, the next refusals
// within this time are only counted.
const refusalLogEvery = 10 * time.Second

// refuse logs a refused message, the first and then one per
// refusalLogEvery with the number left unlogged: a sender that keeps trying
// (workers that inherited NOTIFY_SOCKET, each sending WATCHDOG=1) must not
// fill the container's log, which is the application's. Callers hold n.order.
func (n *notifier) refuse(log *logrus.Entry, why string) {
	n.refuseLine(log, "ignoring notify message: "+why)
}

// refuseLine logs line as refuse does, rate-limited with every refusal.
// Callers hold n.order.
func (n *notifier) refuseLine(log *logrus.Entry, line string) {
	now := time.Now()
	if !n.refusedAt.IsZero() && now.Sub(n.refusedAt) < refusalLogEvery {
		n.refusedN++
		return
	}
	if n.refusedN > 0 {
		log = log.WithField("not_logged", n.refusedN)
	}
	n.refusedAt, n.refusedN = now, 0
	log.Warn(line)
}

// maxHeld bounds the messages held for a main process not registered yet.
const maxHeld = 64

// heldMsg is a message held until the next ChildStarted.
type heldMsg struct {
	pid int
	msg []byte
	at  time.Time
}

// mayBeMain reports whether a message refused under NotifyAccess=main may come
// from the main process before hcinit registered it: no main process is
// registered (hcinit is starting it), and the sender is a child of hcinit.
// systemd knows the main pid from fork on; hcinit learns it once fork returned,
// and a child may send READY=1 first.
func (n *notifier) mayBeMain(pid int) bool {
	if a := n.d.access; a == NotifyAccessExec || a == NotifyAccessAll || pid <= 0 || n.d.pid() != 0 {
		return false
	}
	p, err := proc.Stat(pid)
	return err == nil && p.PPID == os.Getpid()
}

// holding reports whether messages of pid are held (n.order held).
func (n *notifier) holding(pid int) bool {
	for _, h := range n.held {
		if h.pid == pid {
			return true
		}
	}
	return false
}

// hold keeps msg of pid until release (n.order held).
func (n *notifier) hold(pid int, msg []byte) {
	if len(n.held) == maxHeld {
		n.refuse(n.d.log.WithField("pid", n.held[0].pid), "held too long for a main process not started yet")
		n.held = n.held[1:]
	}
	n.held = append(n.held, heldMsg{pid: pid, msg: bytes.Clone(msg), at: time.Now()})
}

// release applies the held messages of pid, now the main process, in the
// order they came, and drops the rest. ChildStarted calls it once pid is
// registered: a message read after that is accepted directly, one read before
// was held (n.order orders the two).
func (n *notifier) release(pid int) {
	n.order.Lock()
	defer n.order.Unlock()
	held := n.held
	n.held = nil
	for _, h := range held {
		if h.pid == pid {
			n.handle(h.msg, h.at)
		} else {
			n.refuse(n.d.log.WithField("pid", h.pid).WithField("main_pid", pid), "only the main process may send (--notify-access main, systemd's NotifyAccess=main)")
		}
	}
}

// refused says why a message from pid does not count under
// NotifyAccess, "" when it does.
func (n *notifier) refused(pid int) string {
	if pid <= 0 {
		// SCM_CREDENTIALS names no process of hcinit's pid namespace:
		// another container's (a pod shares /dev/shm and the abstract
		// sockets). systemd's NotifyAccess=all, too, ends at the unit's
		// cgroup (systemd.service(5)).
		return "the sender is not in hcinit's pid namespace (another container's)"
	}
	switch n.d.access {
	case NotifyAccessAll:
		return ""
	case NotifyAccessExec:
		if pid > 0 && inTree(pid) {
			return ""
		}
		return "the sender is not in hcinit's process tree (--notify-access exec)"
	}
	if main := n.d.pid(); pid > 0 && pid == main {
		return ""
	}
	return "only the main process may send (--notify-access main, systemd's NotifyAccess=main)"
}

// inTree reports whether pid descends from hcinit (orphans are re-parented
// to hcinit as PID 1 or subreaper, so they stay in the tree).
func inTree(pid int) bool {
	ok, _ := proc.Under(pid, os.Getpid())
	return ok
}

// mainPIDRefused says why MAINPID=pid (0: none) is not taken, "" when it is
// or there is none. As systemd's service_is_suitable_main_pid
// (src/core/service.c): never hcinit itself ("is the manager": supervising
// itself, hcinit would forward every signal to itself for ever), nor an exec
// check's process ("is the control process": hcinit's own probe, which ends
// with its run), and only a process of hcinit's tree (systemd: of the unit's
// cgroup), so a daemon that double-forked and was re-parented to hcinit
// still counts.
func mainPIDRefused(pid int) string {
	switch {
	case pid <= 0:
		return ""
	case pid == os.Getpid():
		return "that is hcinit itself"
	case !inTree(pid):
		return "not a process of hcinit's tree"
	}
	if probe := execProbeOf(pid); probe > 0 {
		return "a process of an exec check (probe pid " + strconv.Itoa(probe) + "), not the application's"
	}
	return ""
}

// isNewline is systemd's NEWLINE ("\n\r"): it splits a message on both
// (src/core/manager.c: strv_split(buf, NEWLINE)), so "READY=1\r\n" is READY=1.
func isNewline(r rune) bool { return r == '\n' || r == '\r' }

// handle applies one message: newline-separated KEY=VALUE, unknown keys
// ignored. Callers hold n.order.
func (n *notifier) handle(msg []byte, now time.Time) {
	var e notifyEffects
	n.mu.Lock()
	// A message read long after the deadline, before the overdue timer
	// fired: hcinit was frozen with the message in its socket (sent just
	// before the child was), or throttled. The same stall the timer would
	// have seen, judged before the message starts a new window.
	restarted := n.stalledLocked(now)
	for _, line := range bytes.FieldsFunc(msg, isNewline) {
		k, v, _ := bytes.Cut(line, []byte("="))
		if apply := notifyKeys[string(k)]; apply != nil {
			apply(n, string(v), now, &e)
		}
	}
	n.armLocked(now)
	n.last = now
	close(n.change)
	n.change = make(chan struct{})
	watchdog := n.watchdog
	n.mu.Unlock()
	if restarted {
		n.logRestarted(watchdog)
	}
	if why := mainPIDRefused(e.mainPID); why != "" {
		n.refuseLine(n.d.log.WithField("pid", e.mainPID), "ignoring MAINPID=: "+why)
	} else if e.mainPID > 0 {
		n.d.mainPID(e.mainPID)
	}
	if !e.extendTo.IsZero() && n.d.extend != nil {
		n.d.extend(e.extendTo)
	}
	if e.fired {
		n.d.fired()
	}
	if e.kick {
		n.d.kick()
	}
	n.relay(msg)
}

// relayed are the keys passed on to the manager hcinit runs under
// (sd_notify(3)). MAINPID= is not: the manager's main process stays hcinit.
// Nor are BARRIER=1 and FDSTORE=1, whose descriptors hcinit never receives.
var relayed = map[string]bool{"READY": true, "RELOADING": true, "MONOTONIC_USEC": true, "STOPPING": true,
	"STATUS": true, "ERRNO": true, "BUSERROR": true, "EXIT_STATUS": true, "WATCHDOG": true, "WATCHDOG_USEC": true,
	"EXTEND_TIMEOUT_USEC": true}

// relay passes an accepted message on to the NOTIFY_SOCKET hcinit inherited
// (a systemd Type=notify unit, podman --sdnotify=container): the child's
// READY=1 must still reach that manager, as it does under tini, which leaves
// NOTIFY_SOCKET alone. hcinit sends it itself, as the manager's main process
// (NotifyAccess=main). Callers hold n.order, which keeps the order.
func (n *notifier) relay(msg []byte) {
	if n.d.upstream == "" {
		return
	}
	var out []byte
	for _, line := range bytes.FieldsFunc(msg, isNewline) {
		if k, _, _ := bytes.Cut(line, []byte("=")); relayed[string(k)] {
			out = append(append(out, line...), '\n')
		}
	}
	if len(out) == 0 || n.upQ == nil {
		return
	}
	select {
	case n.upQ <- out:
	default:
		if !n.upFull {
			n.upFull = true
			n.d.log.WithField("path", n.d.upstream).Warn("the inherited NOTIFY_SOCKET does not keep up: sd_notify messages not relayed")
		}
	}
}

// upQueue bounds the messages waiting for the inherited NOTIFY_SOCKET.
const upQueue = 64

// relayUp sends what relay queued, in order, until q is closed. A goroutine of
// its own: a manager that stops reading holds each send up to its 1 s bound,
// and the child's messages must still be handled at once (a WATCHDOG=1 waiting
// behind it let --watchdog expire).
func (n *notifier) relayUp(q <-chan []byte, done chan<- struct{}) {
	defer close(done)
	for b := range q {
		err := n.sendUp(b)
		if err != nil && !n.upErr {
			n.upErr = true // once: a missing manager must not flood the log
			n.d.log.WithError(err).WithField("path", n.d.upstream).Warn("cannot relay sd_notify to the inherited NOTIFY_SOCKET")
		}
	}
	if n.up != nil {
		n.up.Close()
	}
}

// sendUp writes one datagram to the inherited NOTIFY_SOCKET, bounded in time:
// a manager that stops reading must not stall the child's notifications.
func (n *notifier) sendUp(b []byte) error {
	if n.up == nil {
		c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: n.d.upstream, Net: "unixgram"})
		if err != nil {
			return err
		}
		n.up = c
	}
	n.up.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := n.up.Write(b); err != nil {
		n.up.Close()
		n.up = nil
		return err
	}
	return nil
}

// notifyEffects is what a message asks of the monitor once n.mu is released.
type notifyEffects struct {
	kick     bool      // run the notify check now
	fired    bool      // WATCHDOG=trigger
	mainPID  int       // MAINPID=, 0 when none
	extendTo time.Time // EXTEND_TIMEOUT_USEC=, zero when none
}

// notifyKeys apply the keys hcinit acts on (sd_notify(3)); callers hold n.mu.
var notifyKeys = map[string]func(n *notifier, v string, now time.Time, e *notifyEffects){
	"READY":               (*notifier).onReady,
	"RELOADING":           (*notifier).onReloading,
	"STOPPING":            (*notifier).onStopping,
	"STATUS":              func(n *notifier, v string, _ time.Time, _ *notifyEffects) { n.status = v },
	"MAINPID":             (*notifier).onMainPID,
	"WATCHDOG":            (*notifier).onWatchdog,
	"WATCHDOG_USEC":       (*notifier).onWatchdogUSec,
	"EXTEND_TIMEOUT_USEC": (*notifier).onExtendTimeout,
}

// extendTo is EXTEND_TIMEOUT_USEC=v read at now: the time it extends to, zero
// for none. As systemd (src/core/service.c, service_extend_timeout): 0 and
// infinity (UINT64_MAX) ask nothing, anything unparsable is ignored.
func extendTo(v string, now time.Time) time.Time {
	us, err := strconv.ParseUint(v, 10, 64)
	if err != nil || us == 0 || us == math.MaxUint64 {
		return time.Time{}
	}
	// Clamped far below time.Time's range: a huge value is "a very long
	// time", never an overflow into the past.
	const most = uint64(math.MaxInt64 / 2 / int64(time.Microsecond))
	return now.Add(time.Duration(min(us, most)) * time.Microsecond)
}

func (n *notifier) onReady(v string, now time.Time, e *notifyEffects) {
	if v != "1" || n.stopped {
		return
	}
	if !n.everReady {
		n.readyAt = now // the watchdog is armed at READY=1, not at fork
	}
	n.ready, n.everReady, e.kick = true, true, true
}

func (n *notifier) onReloading(v string, _ time.Time, e *notifyEffects) {
	if v == "1" {
		n.ready, e.kick = false, true
	}
}

// onStopping is final: nothing makes the child ready again (systemd v259).
func (n *notifier) onStopping(v string, _ time.Time, e *notifyEffects) {
	if v == "1" {
		n.ready, n.stopped, e.kick = false, true, true
	}
}

func (n *notifier) onMainPID(v string, _ time.Time, e *notifyEffects) {
	if pid, err := strconv.Atoi(v); err == nil && pid > 1 {
		e.mainPID = pid
	}
}

// onExtendTimeout: the child asks for N more (sd_notify(3)). As systemd's
// service_extend_timeout, that holds off both hcinit's own SIGKILL of a stop
// (the child actor, through Config.ExtendStop) and, once armed, the
// watchdog's verdict until now+N; it never brings either sooner.
func (n *notifier) onExtendTimeout(v string, now time.Time, e *notifyEffects) {
	e.extendTo = extendTo(v, now)
	if n.watchdog > 0 && n.everReady && !n.stopped && !n.missed && e.extendTo.After(n.extended) {
		n.extended = e.extendTo
	}
}

func (n *notifier) onWatchdog(v string, now time.Time, e *notifyEffects) {
	switch v {
	case "1":
		// systemd restarts the watchdog timer from now: an extension ends.
		n.lastWatchdog, n.missed, n.triggered, n.extended = now, false, false, time.Time{}
	case "trigger":
		// systemd handles it as a watchdog timeout (sd_notify(3)).
		n.triggered, n.missed, e.kick, e.fired = true, true, true, true
	}
}

func (n *notifier) onWatchdogUSec(v string, now time.Time, _ *notifyEffects) {
	if us, err := strconv.ParseInt(v, 10, 64); err == nil && us >= 0 {
		// Clamped: a huge value must not overflow into a negative (found by
		// FuzzNotifyMessage).
		n.watchdog = time.Duration(min(us, int64(math.MaxInt64/time.Microsecond))) * time.Microsecond
		n.lastWatchdog, n.extended = now, time.Time{} // systemd restarts the timer too
	}
}

// armLocked (re)arms the watchdog timer: from READY=1 on, WATCHDOG_USEC after
// the last WATCHDOG=1 (systemd.service(5), WatchdogSec=). Callers hold n.mu.
func (n *notifier) armLocked(now time.Time) {
	if n.timer != nil {
		n.timer.Stop()
	}
	n.due = time.Time{}
	if n.watchdog <= 0 || !n.everReady || n.stopped || n.missed {
		return
	}
	// Looks before the deadline, half a window and stallLimit before it,
	// then the deadline: a freeze that ends just after the deadline (less
	// than stallLimit, so the expiry is not late enough to tell) makes a
	// look late, the one half-way by most of the freeze. A look fires only
	// when the child is late by its own schedule (sd_watchdog_enabled(3):
	// send WATCHDOG=1 every half window); each is one timer.
	deadline := n.deadlineLocked()
	n.due = deadline
	for _, look := range []time.Time{deadline.Add(-n.watchdog / 2), deadline.Add(-stallLimit)} {
		if look.After(now) {
			n.due = look
			break
		}
	}
	n.timer = time.AfterFunc(n.due.Sub(now), n.expire)
	// A mark before the deadline, to tell a late timer of a frozen hcinit
	// from one of a throttled hcinit (stalledLocked); read at most once a
	// watchdog period, not on every WATCHDOG=1.
	if real := time.Now(); n.deadlineLocked().After(real) && (!n.waited.set || real.Sub(n.waitedAt) > n.watchdog) {
		n.waited, n.waitedAt = markWaits(), real
	}
}

// deadlineLocked is when the watchdog expires: WATCHDOG_USEC after the
// window began, or later if EXTEND_TIMEOUT_USEC asked for it. Callers hold
// n.mu.
func (n *notifier) deadlineLocked() time.Time {
	d := n.windowLocked().Add(n.watchdog)
	if n.extended.After(d) {
		return n.extended
	}
	return d
}

// windowLocked is when the current watchdog window began: the last
// WATCHDOG=1, the first READY=1, or the end of a stall of hcinit, whichever
// is latest. Callers hold n.mu.
func (n *notifier) windowLocked() time.Time {
	last := n.lastWatchdog
	if last.Before(n.readyAt) {
		last = n.readyAt
	}
	if last.Before(n.resumed) {
		last = n.resumed
	}
	return last
}

// stalledLocked reports whether the watchdog's deadline passed more than
// stallLimit before now without the timer having fired: hcinit was not
// running (docker pause froze it with the child, stall.go), so the child's
// silence proves nothing. The window then starts again at now, as Docker's
// health monitor starts over after unpause. Lateness explained by hcinit
// waiting to run (throttled by a CPU quota with a spinning child, stall.go)
// is no stall: the child's silence counts. Callers hold n.mu.
func (n *notifier) stalledLocked(now time.Time) bool {
	// Only an armed timer's lateness tells: after STOPPING=1 none is armed.
	due := n.deadlineLocked()
	if !n.due.IsZero() && n.due.Before(due) {
		due = n.due // the look before the deadline
	}
	if n.watchdog <= 0 || !n.everReady || n.stopped || n.missed || now.Sub(due) <= stallLimit {
		return false
	}
	if n.waited.unexplained(now.Sub(due)) <= stallLimit {
		return false
	}
	n.resumed = now
	n.armLocked(now)
	return true
}

// logRestarted says that a stall restarted the watchdog window; whoever saw
// the stall first (the timer, a message, a probe) says it, once.
func (n *notifier) logRestarted(watchdog time.Duration) {
	n.d.log.WithField("watchdog", watchdog.String()).Info("watchdog window restarted: hcinit was not running (container paused?)")
}

// expire is the watchdog timer: a miss is a verdict at once, as systemd acts
// on it at once, not a probe failure to be retried.
func (n *notifier) expire() {
	n.mu.Lock()
	now := time.Now()
	if n.watchdog <= 0 || !n.everReady || n.stopped || n.missed {
		n.armLocked(now)
		n.mu.Unlock()
		return
	}
	if n.stalledLocked(now) {
		watchdog := n.watchdog
		n.mu.Unlock()
		n.logRestarted(watchdog)
		return
	}
	if now.Before(n.deadlineLocked()) { // the look, in time: on to the deadline
		n.armLocked(now)
		n.mu.Unlock()
		return
	}
	n.missed = true
	watchdog := n.watchdog // WATCHDOG_USEC= may change it once unlocked
	n.mu.Unlock()
	n.d.log.WithField("watchdog", watchdog.String()).Warn("watchdog expired: no WATCHDOG=1 in time")
	n.d.fired()
	n.d.kick()
}

// stop ends the watchdog timer.
func (n *notifier) stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.timer != nil {
		n.timer.Stop()
	}
	n.everReady = false
}

// reset forgets what the previous child said.
func (n *notifier) reset(now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.since, n.ready, n.everReady, n.status, n.triggered = now, false, false, "", false
	n.readyAt, n.resumed, n.extended, n.stopped, n.missed = time.Time{}, time.Time{}, time.Time{}, false, false
	n.waited = waits{}
	n.lastWatchdog, n.watchdog = time.Time{}, n.d.watchdog
	if n.timer != nil {
		n.timer.Stop()
	}
}

// probe is the notify check: it fails after WATCHDOG=trigger (fatally), until
// the first READY=1, and when the watchdog is set and no WATCHDOG=1 came for
// longer than it.
func (n *notifier) probe(now time.Time) outcome {
	if n == nil {
		return fail("no NOTIFY_SOCKET")
	}
	var restarted time.Duration // the watchdog of a window a stall restarted
	defer func() {
		if restarted > 0 { // after the unlock below
			n.logRestarted(restarted)
		}
	}()
	n.mu.Lock()
	defer n.mu.Unlock()
	status := ""
	if n.status != "" {
		status = " (STATUS=" + n.status + ")"
	}
	if n.triggered {
		return outcome{code: 1, fatal: true, output: "WATCHDOG=trigger" + status}
	}
	if !n.everReady {
		return fail("waiting for READY=1%s", status)
	}
	if n.watchdog > 0 {
		if n.stalledLocked(now) { // the timer has not fired yet: a stall, or just due
			restarted = n.watchdog
		}
		if age := now.Sub(n.windowLocked()); n.missed || !now.Before(n.deadlineLocked()) {
			return outcome{code: 1, fatal: true, output: fmt.Sprintf("watchdog expired: no WATCHDOG=1 for %s (watchdog %s)%s", age.Round(time.Millisecond), n.watchdog, status)}
		}
	}
	word := "ready"
	if !n.ready {
		word = "not ready (RELOADING=1 or STOPPING=1)"
	}
	return pass("%s%s", word, status)
}

func (n *notifier) snapshot() *NotifyStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := &NotifyStatus{Ready: n.ready, Status: n.status, LastWatchdog: n.lastWatchdog}
	if n.watchdog > 0 {
		s.Watchdog = n.watchdog.String()
	}
	return s
}

// changed returns a channel closed by the next message.
func (n *notifier) changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.change
}

func (n *notifier) lastMessage() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.last
}
