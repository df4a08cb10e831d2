package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	procfs "github.com/wisdom-oss/go-healthcheck/internal/proc"
	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// proc is one init under test. Its stdout, which the processes below it share,
// is a pipe read line by line; its stderr goes to a file. Every method is safe
// to call from the goroutine that runs one init of a comparison.
type proc struct {
	cmd     *exec.Cmd
	out     *lines
	errPath string
	started time.Time

	done  chan struct{} // closed once the init is waited for
	ended time.Time
	state *os.ProcessState
}

// spawnOpt adjusts the command before it starts.
type spawnOpt func(*exec.Cmd)

// withEnv adds kv to the environment (after ownSocket's HCINIT_SOCKET, which
// a test may so replace).
func withEnv(kv ...string) spawnOpt {
	return func(c *exec.Cmd) {
		if c.Env == nil {
			c.Env = os.Environ()
		}
		c.Env = append(c.Env, kv...)
	}
}

var socketSeq atomic.Int64

// ownSocket is an HCINIT_SOCKET=… of a private abstract name for one hcinit
// these tests start: an address hcinit is told (--socket or its twin) and
// cannot bind stops it, so two hcinits running at once must not share the
// process-wide default TestMain sets.
func ownSocket() string {
	return fmt.Sprintf("HCINIT_SOCKET=@hcinit-cmdtest-%d-%d", os.Getpid(), socketSeq.Add(1))
}

func withDir(dir string) spawnOpt { return func(c *exec.Cmd) { c.Dir = dir } }

func withSys(a *syscall.SysProcAttr) spawnOpt { return func(c *exec.Cmd) { c.SysProcAttr = a } }

// withStdio gives the init these files as stdin, stdout and stderr (a pty);
// its output is then not read as lines.
func withStdio(f *os.File) spawnOpt {
	return func(c *exec.Cmd) { c.Stdin, c.Stdout, c.Stderr = f, f, f }
}

// spawn starts argv. Cleanup kills the init, everything that printed a ready
// line, and waits (bounded) for the init.
func spawn(t testing.TB, argv []string, opts ...spawnOpt) (*proc, error) {
	p := &proc{done: make(chan struct{}), out: newLines()}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	// The init dies with this test binary, whatever happens.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.cmd.Env = append(os.Environ(), ownSocket())
	for _, o := range opts {
		o(p.cmd)
	}
	// A directory of its own: hcinit writes a v1.0.x .hc-socket into its working
	// directory, and one hcinit must not find another's there.
	dir := t.TempDir()
	if p.cmd.Dir == "" {
		p.cmd.Dir = dir
	}
	var r, w *os.File
	if p.cmd.Stdout == nil {
		var err error
		if r, w, err = os.Pipe(); err != nil {
			return nil, err
		}
		// *os.File, not a Writer: no copying goroutine, and Wait does not wait
		// for every grandchild to close it (golang/go#23019).
		p.cmd.Stdout = w
		ef, err := os.CreateTemp(dir, "stderr-")
		if err != nil {
			return nil, err
		}
		defer ef.Close()
		p.errPath = ef.Name()
		p.cmd.Stderr = ef
	} else {
		p.out.close()
	}
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		if w != nil {
			w.Close()
			r.Close()
		}
		return nil, err
	}
	if w != nil {
		w.Close()
		go p.out.read(r)
	}
	go func() {
		_ = p.cmd.Wait()
		p.ended, p.state = time.Now(), p.cmd.ProcessState
		close(p.done)
	}()
	t.Cleanup(func() {
		// Frozen first, so that it starts nothing more, then what runs below
		// it: a child between its start and its ready line would outlive the
		// test and write into the test's directory as it is removed.
		if !p.exited() && p.cmd.Process.Signal(syscall.SIGSTOP) == nil {
			for _, pid := range procfs.Descendants(p.pid()) {
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
		_ = p.cmd.Process.Kill()
		for _, pid := range p.out.readyPids() {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Errorf("%s: not gone 5s after SIGKILL", argv[0])
		}
		if r != nil {
			r.Close()
		}
	})
	return p, nil
}

// startReady spawns argv and waits for its child's "child ready PID" line:
// the prelude of every test that signals an init.
func startReady(t testing.TB, argv []string, opts ...spawnOpt) (*proc, error) {
	p, err := spawn(t, argv, opts...)
	if err != nil {
		return nil, err
	}
	if err := p.out.ready(readyWait, "child"); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// signal sends sig to the init.
func (p *proc) signal(sig unix.Signal) error {
	if err := unix.Kill(p.pid(), sig); err != nil {
		return fmt.Errorf("send %s to the init: %w", sigs.Name(sig), err)
	}
	return nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exit waits up to d for the init and returns its exit code. An init killed by
// a signal, or one still running after d, is an error.
func (p *proc) exit(d time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(d):
		return 0, fmt.Errorf("still running %s later", d)
	}
	ws := p.state.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 0, fmt.Errorf("the init itself was killed by %s", sigs.Name(ws.Signal()))
	}
	return ws.ExitStatus(), nil
}

// expectExit waits up to d and wants exit code want.
func (p *proc) expectExit(d time.Duration, want int) error {
	have, err := p.exit(d)
	if err != nil {
		return err
	}
	if have != want {
		return fmt.Errorf("exit %d, want %d%s", have, want, p.stderrNote())
	}
	return nil
}

// stderr is what the init wrote to its stderr so far.
func (p *proc) stderr() string {
	if p.errPath == "" {
		return ""
	}
	b, _ := os.ReadFile(p.errPath)
	return string(b)
}

func (p *proc) stderrNote() string {
	s := strings.TrimSpace(p.stderr())
	if s == "" {
		return ""
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return " (stderr: " + s + ")"
}

// lines collects output lines and wakes waiters on each one.
type lines struct {
	mu   sync.Mutex
	all  []string
	eof  bool
	wake chan struct{} // closed and replaced on every change
}

func newLines() *lines { return &lines{wake: make(chan struct{})} }

func (l *lines) read(r io.Reader) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		l.mu.Lock()
		l.all = append(l.all, strings.TrimRight(s.Text(), "\r")) // a pty ends lines with CR LF
		close(l.wake)
		l.wake = make(chan struct{})
		l.mu.Unlock()
	}
	l.close()
}

func (l *lines) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.eof {
		l.eof = true
		close(l.wake)
		l.wake = make(chan struct{})
	}
}

func (l *lines) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.all...)
}

// errEnded and errLate are how waitFor fails: the output ended, or the time
// was up.
var (
	errEnded = errors.New("output ended")
	errLate  = errors.New("time is up")
)

// waitFor waits up to d until done holds for the lines printed so far; it
// looks again each time more come.
func (l *lines) waitFor(d time.Duration, done func(all []string) bool) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		l.mu.Lock()
		ok, eof, wake := done(l.all), l.eof, l.wake
		l.mu.Unlock()
		switch {
		case ok:
			return nil
		case eof:
			return errEnded
		}
		select {
		case <-wake:
		case <-timer.C:
			return errLate
		}
	}
}

// await waits up to d until every wanted line has been printed.
func (l *lines) await(d time.Duration, want ...string) error {
	var missing []string
	switch l.waitFor(d, func(all []string) bool {
		missing = missingLines(all, want)
		return len(missing) == 0
	}) {
	case errEnded:
		return fmt.Errorf("output ended without %q", missing)
	case errLate:
		return fmt.Errorf("no %q within %s", missing, d)
	}
	return nil
}

// awaitCount waits up to d until line has been printed n times.
func (l *lines) awaitCount(d time.Duration, line string, n int) error {
	have := 0
	switch l.waitFor(d, func(all []string) bool {
		have = 0
		for _, s := range all {
			if s == line {
				have++
			}
		}
		return have >= n
	}) {
	case errEnded:
		return fmt.Errorf("output ended with %q %d times, want %d", line, have, n)
	case errLate:
		return fmt.Errorf("%q %d times within %s, want %d", line, have, d, n)
	}
	return nil
}

// ready waits for sigprint's "NAME ready PID" line of every name.
func (l *lines) ready(d time.Duration, names ...string) error {
	var missing []string
	switch l.waitFor(d, func(all []string) bool {
		missing = missing[:0]
		for _, n := range names {
			if !hasPrefix(all, n+" ready ") {
				missing = append(missing, n)
			}
		}
		return len(missing) == 0
	}) {
	case errEnded:
		return fmt.Errorf("output ended before %v were ready", missing)
	case errLate:
		return fmt.Errorf("%v not ready within %s", missing, d)
	}
	return nil
}

// readyPid is the pid the printer called name announced, 0 if none did.
func (l *lines) readyPid(name string) int {
	for _, s := range l.snapshot() {
		if f := strings.Fields(s); len(f) == 3 && f[0] == name && f[1] == "ready" {
			pid, _ := strconv.Atoi(f[2])
			return pid
		}
	}
	return 0
}

// readyPids are the pids of every printer that announced itself.
func (l *lines) readyPids() []int {
	var pids []int
	for _, s := range l.snapshot() {
		if f := strings.Fields(s); len(f) == 3 && f[1] == "ready" {
			if pid, err := strconv.Atoi(f[2]); err == nil {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// signalsOf lists what the printer called name printed, ready and SIGCHLD
// lines left out (a printer gets SIGCHLD of its own when its child exits).
func signalsOf(all []string, name string) []string {
	var out []string
	for _, s := range all {
		rest, ok := strings.CutPrefix(s, name+" ")
		if !ok || strings.HasPrefix(rest, "ready ") || rest == "SIGCHLD" {
			continue
		}
		out = append(out, rest)
	}
	return out
}

func missingLines(all, want []string) []string {
	var missing []string
	for _, w := range want {
		found := false
		for _, s := range all {
			if s == w {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, w)
		}
	}
	return missing
}

func hasPrefix(all []string, prefix string) bool {
	for _, s := range all {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

func contains(all []string, line string) bool { return len(missingLines(all, []string{line})) == 0 }

// waitGone waits up to d for pid to exit, on a pidfd: no polling.
func waitGone(pid int, d time.Duration) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("pid %d still running after %s", pid, d)
		}
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(left/time.Millisecond)+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return err
		}
		if n > 0 {
			return nil
		}
	}
}

// signalMask reads one of SigBlk, SigIgn, SigCgt from /proc/PID/status.
func signalMask(pid int, field string) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

// openPTY opens a pseudo-terminal pair without cgo or a pty package: the
// master from /dev/ptmx, unlocked, and the slave it names.
func openPTY() (master, slave *os.File, err error) {
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(m)
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		unix.Close(m)
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	name := filepath.Join("/dev/pts", strconv.Itoa(int(n)))
	s, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(m)
		return nil, nil, fmt.Errorf("open %s: %w", name, err)
	}
	// Non-blocking, so the master is pollable and Close ends a pending Read.
	return os.NewFile(uintptr(m), "/dev/ptmx"), os.NewFile(uintptr(s), name), nil
}

// needRoot skips a test that needs root: a PID namespace, another user.
func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

func hcinitBin() string { return filepath.Join(binDir, "hcinit") }

// each runs fn for every item on a few workers and joins what failed.
func each[T any](items []T, workers int, fn func(T) error) error {
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
		next = make(chan T)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range next {
				if err := fn(it); err != nil {
					mu.Lock()
					errs = append(errs, err.Error())
					mu.Unlock()
				}
			}
		}()
	}
	for _, it := range items {
		next <- it
	}
	close(next)
	wg.Wait()
	if len(errs) == 0 {
		return nil
	}
	if len(errs) > 6 {
		errs = append(errs[:6], fmt.Sprintf("and %d more", len(errs)-6))
	}
	return fmt.Errorf("%s", strings.Join(errs, "; "))
}

// waitComm waits until pid runs the program comm (after an exec).
func waitComm(pid int, comm string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			return fmt.Errorf("pid %d: %w", pid, err)
		}
		if strings.TrimSpace(string(b)) == comm {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d runs %q, not %q, after %s", pid, strings.TrimSpace(string(b)), comm, d)
		}
		time.Sleep(time.Millisecond) // an exec sends no event
	}
}

// hcinitClient runs `hcinit check|status ARGS…` and returns its stdout and exit
// code; the client has its own --timeout, this bound is only for a hung one.
func hcinitClient(args ...string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	c := exec.CommandContext(ctx, hcinitBin(), args...)
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.Exited():
		return out.String(), ee.ExitCode(), nil
	case err != nil:
		return out.String(), -1, fmt.Errorf("hcinit %s: %v (stderr %q)", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), 0, nil
}

// status asks the hcinit on sock for its state (`hcinit status --json`, whose
// exit code only says whether it is healthy).
func status(sock string) (health.Status, error) {
	var st health.Status
	out, _, err := hcinitClient("status", "--socket", sock, "--json", "--timeout", "3s")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return st, fmt.Errorf("hcinit status --json: %v (output %q)", err, out)
	}
	return st, nil
}

// waitStatus asks until cond holds, up to d: the state changes on hcinit's
// timers, and a client cannot subscribe to it.
func waitStatus(sock string, d time.Duration, what string, cond func(health.Status) bool) (health.Status, error) {
	deadline := time.Now().Add(d)
	for {
		st, err := status(sock)
		if err == nil && cond(st) {
			return st, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return st, fmt.Errorf("%s: %v", what, err)
			}
			return st, fmt.Errorf("%s: not within %s (status %+v)", what, d, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStderr waits up to d until the init's log holds substr n times. The log
// is a file: there is nothing to wait on but its growth.
func (p *proc) waitStderr(substr string, n int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for strings.Count(p.stderr(), substr) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("no %q (×%d) in the log within %s%s", substr, n, d, p.stderrNote())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// running waits d and fails if the init exits in that time: the check that
// something does not happen.
func (p *proc) running(d time.Duration) error {
	code, err := p.exit(d)
	switch {
	case err == nil:
		return fmt.Errorf("exited %d within %s%s", code, d, p.stderrNote())
	case p.exited():
		return err // killed by a signal
	}
	return nil
}

// closed waits up to d until every process sharing the init's stdout closed it.
func (l *lines) closed(d time.Duration) error {
	if l.waitFor(d, func([]string) bool { return false }) == errLate {
		return fmt.Errorf("output still open after %s", d)
	}
	return nil
}

// childOf waits up to d for a child of ppid running comm and returns its pid.
// A fork sends no event: /proc is polled.
func childOf(ppid int, comm string, d time.Duration) (int, error) {
	deadline := time.Now().Add(d)
	for {
		for _, p := range procfs.All() {
			if p.PPID == ppid && p.Comm == comm && p.State != 'Z' {
				return p.PID, nil
			}
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("no %s below pid %d after %s", comm, ppid, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func lineCount(path string) int {
	b, _ := os.ReadFile(path)
	return bytes.Count(b, []byte("\n"))
}

// nsenter runs argv in the PID namespace of pid, as `docker exec` does, and
// returns its output. Cleanup kills it.
func nsenter(t *testing.T, pid int, argv ...string) (*lines, error) {
	c := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-p", "--"}, argv...)...)
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	c.Stdout, c.Stderr = w, os.Stderr
	if err := c.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	w.Close()
	out := newLines()
	go out.read(r)
	t.Cleanup(func() {
		// The program runs as nsenter's child; the pid it prints is the
		// namespace's, so find it on this side.
		for _, p := range procfs.All() {
			if p.PPID == c.Process.Pid {
				_ = unix.Kill(p.PID, unix.SIGKILL)
			}
		}
		_ = c.Process.Kill()
		_ = c.Wait()
		r.Close()
	})
	return out, nil
}
