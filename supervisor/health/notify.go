package health

import (
	"bytes"
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

	"golang.org/x/sys/unix"
)

// notifier is the NOTIFY_SOCKET datagram socket and what the child said on it
// (sd_notify(3)). Only messages whose sender credentials (SO_PASSCRED) are
// root's, hcinit's or the child's user's are accepted.
type notifier struct {
	m    *Monitor
	conn *net.UnixConn
	addr string // the NOTIFY_SOCKET value
	path string // the socket file, "" for an abstract socket

	mu           sync.Mutex
	since        time.Time // child start
	ready        bool      // READY=1 seen and no RELOADING=1/STOPPING=1 since
	everReady    bool
	status       string
	lastWatchdog time.Time
	watchdog     time.Duration
	triggered    bool
	last         time.Time     // any message
	change       chan struct{} // closed and replaced on every message
}

// newNotifier binds the socket in the runtime directory, else as the abstract
// socket @hcinit-notify-<pid>.
func newNotifier(m *Monitor) (*notifier, error) {
	n := &notifier{m: m, watchdog: m.cfg.Watchdog, change: make(chan struct{})}
	if m.runtimeDir != "" {
		path := filepath.Join(m.runtimeDir, "notify-"+strconv.Itoa(os.Getpid())+".sock")
		conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		if errors.Is(err, syscall.EADDRINUSE) {
			// Ours from an earlier life with the same pid: nobody else's name.
			os.Remove(path)
			conn, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
		}
		if err == nil {
			os.Chmod(path, 0o600)
			m.chownToChild(path, true) // permission to send is to write the file
			n.conn, n.addr, n.path = conn, path, path
		} else {
			m.log.WithError(err).WithField("path", path).Debug("notify socket not in the runtime directory")
		}
	}
	if n.conn == nil {
		addr := "@hcinit-notify-" + strconv.Itoa(os.Getpid())
		conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
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
	defer n.m.wg.Done()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	for {
		nb, noob, _, _, err := n.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			if n.m.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			n.m.log.WithError(err).Warn("read notify socket")
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
		if !n.m.peerAllowed(uid) {
			n.m.log.WithField("uid", uid).WithField("pid", pid).Warn("ignoring notify message from a foreign user")
			continue
		}
		n.handle(buf[:nb], time.Now())
	}
}

// handle applies one message: newline-separated KEY=VALUE, unknown keys ignored.
func (n *notifier) handle(msg []byte, now time.Time) {
	kick := false
	n.mu.Lock()
	for _, line := range bytes.Split(msg, []byte("\n")) {
		k, v, _ := bytes.Cut(line, []byte("="))
		switch string(k) {
		case "READY":
			if string(v) == "1" {
				n.ready, n.everReady, kick = true, true, true
			}
		case "RELOADING", "STOPPING":
			if string(v) == "1" {
				n.ready, kick = false, true
			}
		case "STATUS":
			n.status = string(v)
		case "WATCHDOG":
			switch string(v) {
			case "1":
				n.lastWatchdog = now
			case "trigger":
				n.triggered, kick = true, true
			}
		case "WATCHDOG_USEC":
			if us, err := strconv.ParseInt(string(v), 10, 64); err == nil && us >= 0 {
				// Clamped: a huge value must not overflow into a negative
				// (found by FuzzNotifyMessage).
				n.watchdog = time.Duration(min(us, int64(math.MaxInt64/time.Microsecond))) * time.Microsecond
				n.lastWatchdog = now // systemd restarts the timer too
			}
		}
	}
	n.last = now
	close(n.change)
	n.change = make(chan struct{})
	n.mu.Unlock()
	if kick {
		n.m.kickKind(KindNotify)
	}
}

// reset forgets what the previous child said.
func (n *notifier) reset(now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.since, n.ready, n.everReady, n.status, n.triggered = now, false, false, "", false
	n.lastWatchdog, n.watchdog = time.Time{}, n.m.cfg.Watchdog
}

// probe is the notify check: it fails after WATCHDOG=trigger (fatally), until
// the first READY=1, and when the watchdog is set and no WATCHDOG=1 came for
// longer than it.
func (n *notifier) probe(now time.Time) outcome {
	if n == nil {
		return fail("no NOTIFY_SOCKET")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	status := ""
	if n.status != "" {
		status = " (STATUS=" + n.status + ")"
	}
	if n.triggered {
		n.triggered = false
		return outcome{code: 1, fatal: true, output: "WATCHDOG=trigger" + status}
	}
	if !n.everReady {
		return fail("waiting for READY=1%s", status)
	}
	if n.watchdog > 0 {
		last := n.lastWatchdog
		if last.Before(n.since) {
			last = n.since
		}
		if age := now.Sub(last); age > n.watchdog {
			return fail("no WATCHDOG=1 for %s (watchdog %s)%s", age.Round(time.Millisecond), n.watchdog, status)
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

// kickKind runs every check of kind at once.
func (m *Monitor) kickKind(kind string) {
	m.mu.Lock()
	var cs []*check
	for _, c := range m.checks {
		if c.spec.Kind == kind {
			c.runNow = true
			cs = append(cs, c)
		}
	}
	m.mu.Unlock()
	for _, c := range cs {
		c.wakeUp()
	}
}
