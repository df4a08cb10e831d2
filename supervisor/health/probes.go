package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/hcclient"
	"github.com/wisdom-oss/go-healthcheck/internal/proc"
	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
)

// newCheck resolves sp's defaults and builds its check, or says why it can
// never run.
func (m *Monitor) newCheck(sp Spec) (*check, error) {
	if err := buildable(sp, m.cfg.Reaper); err != nil {
		return nil, err
	}
	return m.build(sp), nil
}

// build makes the check of a buildable spec.
func (m *Monitor) build(sp Spec) *check {
	sp = m.resolve(sp)
	c := &check{spec: sp, wake: make(chan struct{}, 1), describe: describe(sp)}
	c.st.reset()
	if sp.Kind == KindDelegate && sp.Addr != "" {
		c.addrs = []string{sp.Addr}
	}
	c.checker = newChecker(sp, checkDeps{
		pid: m.pid, notify: m.notify, reaper: m.cfg.Reaper, cred: m.cfg.Cred, home: m.cfg.Home, dir: m.cfg.Dir,
		ua: "hcinit/" + m.version(), log: m.log,
		delegate: func() ([]string, bool, bool) {
			m.mu.Lock()
			defer m.mu.Unlock()
			return append([]string(nil), c.addrs...), c.adopted, c.nested
		},
		open: m.openAnnounced,
	})
	return c
}

func (c processChecker) Check(context.Context) outcome {
	pid := c.pid()
	if pid <= 0 {
		return fail("no child process")
	}
	p, err := proc.Stat(pid)
	if err != nil {
		return fail("child %d: %v", pid, err)
	}
	switch p.State {
	case 'Z', 'X', 'x':
		return fail("child %d is a zombie", pid)
	case 'T', 't':
		return fail("child %d is stopped", pid)
	}
	return pass("child %d is running (state %c)", pid, p.State)
}

func (c tcpChecker) Check(ctx context.Context) outcome { return probeTCP(ctx, c.addr) }

func probeTCP(ctx context.Context, addr string) outcome {
	// No TCP keep-alive: the connection is closed at once, and enabling it
	// costs setsockopt calls on every check.
	d := net.Dialer{KeepAlive: -1}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fail("%v", err)
	}
	conn.Close()
	return pass("connected to %s", addr)
}

func (c fileChecker) Check(context.Context) outcome {
	path, maxAge := c.path, c.maxAge
	fi, err := os.Stat(path)
	if err != nil {
		return fail("%v", err)
	}
	if maxAge == 0 {
		return pass("%s exists", path)
	}
	age := time.Since(fi.ModTime())
	if age > maxAge {
		return fail("%s last modified %s ago (max-age %s)", path, age.Round(time.Millisecond), maxAge)
	}
	return pass("%s modified %s ago", path, age.Round(time.Millisecond))
}

func (c notifyChecker) Check(context.Context) outcome { return c.n.probe(time.Now()) }

// Check sends the signal and waits, within the check's timeout, for the
// heartbeat.
func (c signalChecker) Check(ctx context.Context) outcome {
	pid := c.pid()
	if pid <= 0 {
		return fail("no child process")
	}
	if c.heartbeat == "notify" {
		return c.awaitNotify(ctx, pid)
	}
	return c.awaitFile(ctx, pid)
}

func (c signalChecker) send(pid int) error {
	if err := catches(pid, c.sig); err != nil {
		return err
	}
	if err := unix.Kill(pid, c.sig); err != nil {
		return fmt.Errorf("send %s to child %d: %w", sigs.Name(c.sig), pid, err)
	}
	return nil
}

// catches fails unless sending sig to the process pid is harmless: it
// catches or ignores sig (SigCgt, SigIgn in /proc/PID/status), or sig's
// default action is to ignore it. A health check must never end the
// workload, and the first run comes at once, before an application has
// installed its handler (USR1's default action ends it). A blocked signal is
// no proof: a shell blocks every signal for a moment around each fork, and a
// signal sent then ends it once unblocked; so a child that takes sig only
// through signalfd or sigwait (blocked, no handler) is not sent it.
func catches(pid int, sig unix.Signal) error {
	switch sig {
	case unix.SIGCHLD, unix.SIGCONT, unix.SIGURG, unix.SIGWINCH:
		return nil // ignored by default: harmless to send
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return fmt.Errorf("child %d: %v", pid, err)
	}
	if !handled(b, sig) {
		return fmt.Errorf("child %d does not catch %s (yet): not sent, its default action would end it", pid, sigs.Name(sig))
	}
	return nil
}

// handled reports whether a /proc/PID/status text shows sig caught or
// ignored.
func handled(status []byte, sig unix.Signal) bool {
	bit := uint64(1) << (uint(sig) - 1)
	for line := range strings.Lines(string(status)) {
		for _, field := range []string{"SigCgt:", "SigIgn:"} {
			hex, ok := strings.CutPrefix(line, field)
			if !ok {
				continue
			}
			if mask, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64); err == nil && mask&bit != 0 {
				return true
			}
		}
	}
	return false
}

// awaitNotify passes on any notify message after the signal.
func (c signalChecker) awaitNotify(ctx context.Context, pid int) outcome {
	if c.notify == nil {
		return fail("no NOTIFY_SOCKET")
	}
	sent := time.Now()
	changed := c.notify.changed()
	if err := c.send(pid); err != nil {
		return fail("%v", err)
	}
	for {
		select {
		case <-changed:
			if c.notify.lastMessage().After(sent) {
				return pass("notify message after %s", sigs.Name(c.sig))
			}
			changed = c.notify.changed()
		case <-ctx.Done():
			return fail("no notify message after %s", sigs.Name(c.sig))
		}
	}
}

// awaitFile passes when the heartbeat file's mtime moves after the signal.
func (c signalChecker) awaitFile(ctx context.Context, pid int) outcome {
	heartbeat := c.heartbeat
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fail("watch heartbeat file: %v", err)
	}
	defer w.Close()
	if err := w.Add(filepath.Dir(heartbeat)); err != nil {
		return fail("watch heartbeat file: %v", err)
	}
	mtime := func() time.Time {
		if fi, err := os.Stat(heartbeat); err == nil {
			return fi.ModTime()
		}
		return time.Time{}
	}
	before := mtime()
	if err := c.send(pid); err != nil {
		return fail("%v", err)
	}
	for {
		if t := mtime(); t.After(before) {
			return pass("%s touched after %s", heartbeat, sigs.Name(c.sig))
		}
		select {
		case <-w.Events:
		case <-w.Errors:
		case <-ctx.Done():
			return fail("%s not touched after %s", heartbeat, sigs.Name(c.sig))
		}
	}
}

// Check pings the child's own socket: the reply is "healthy" or the child's
// error text, which becomes the result's output.
func (c delegateChecker) Check(ctx context.Context) outcome {
	addrs, announced, nested := c.target()
	if len(addrs) == 0 {
		return fail("the child has not announced a health socket")
	}
	addr := ""
	for _, a := range addrs {
		if _, err := os.Lstat(a); err == nil {
			addr = a
			break
		}
	}
	if addr == "" {
		if announced {
			// A v1.0.x server writes its name in Init and listens only in
			// Start: say every place looked at, the one it will use too.
			return fail("no socket at %s yet (the child announced it; not listening yet?)", strings.Join(addrs, " or "))
		}
		addr = addrs[0]
	}
	dial := addr
	if announced {
		// The child's word: no symlink, the child's own socket.
		d, release, err := c.open(addr)
		if err != nil {
			return fail("%v", err)
		}
		defer release()
		dial = d
	}
	reply, err := pingDelegate(ctx, dial, announced, nestedWord(nested, c.level))
	if err != nil {
		return fail("%s", strings.ReplaceAll(err.Error(), dial, addr))
	}
	if reply != common.HealthcheckIPCResponse {
		// A nested hcinit's answer is a verdict, made after its own
		// retries: counted at once, not retried again on top.
		return outcome{code: 1, output: reply, fatal: nested}
	}
	return pass("%s", reply)
}

// pingDelegate asks the delegate's socket. One the child announced is the
// child's word, and its server must be the child's (inOurTree); an address
// given in the spec is the user's word for where to ask; its server must
// still be in hcinit's container (hcclient.VerifyPeer).
func pingDelegate(ctx context.Context, dial string, announced bool, word string) (string, error) {
	if announced {
		return hcclient.ExchangeVerified(ctx, dial, word, 0, inOurTree)
	}
	// The user's word names where to ask, not whom to believe: an abstract
	// address is shared by every container of the network namespace (a pod,
	// two containers of one image), a file socket by whoever shares its
	// directory. Its server must be in hcinit's container, as for hcinit check.
	return hcclient.ExchangeVerified(ctx, dial, common.HealthcheckIPCCommand, 0, hcclient.VerifyPeer)
}

// inOurTree vets the server of a socket the child announced (a name file
// names it, and anyone who can write there can announce): its process, as
// SO_PEERCRED names it, must be hcinit itself or a process of hcinit's tree —
// the child or one of its descendants, orphans included, which come back to
// hcinit as subreaper or PID 1. Another container's app that wrote
// .hc-socket into a shared working directory is not believed. As PID 1 too
// the parent chain is followed: a process that joined the pid namespace from
// outside (`docker run --pid container:X`, `kubectl debug --target`, docker
// exec) has its parent outside it (PPID 0), not hcinit.
func inOurTree(conn net.Conn) error {
	if _, ok := conn.(*net.UnixConn); !ok {
		return nil
	}
	pid, self := hcclient.PeerPid(conn), os.Getpid()
	switch {
	case pid < 0:
		return errors.New("verify the child's server: SO_PEERCRED failed: not believed")
	case pid == 0:
		return errors.New("its server is not in this pid namespace, so not a process hcinit started: not believed")
	}
	ok, err := proc.Under(pid, self)
	if err != nil {
		return fmt.Errorf("its server (pid %d) is gone: not believed", pid)
	}
	if !ok {
		return fmt.Errorf("its server (pid %d) is not a process hcinit started (another container's?): not believed", pid)
	}
	return nil
}

// version is hcinit's version for the User-Agent of http checks.
func (m *Monitor) version() string {
	if m.cfg.Version == "" {
		return "dev"
	}
	return m.cfg.Version
}
