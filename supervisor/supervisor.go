// Package supervisor is hcinit's PID-1 side: it starts one command, forwards
// signals to it, reaps every zombie, runs the stop sequence and reports the
// child's exit status.
//
// Run wires one oklog/run group of actors (signals, reaper, child, health), each
// pre-emptable by its interrupt. Only the reaper calls wait4. The child runs in
// its own process group with hcinit's own stdin, stdout and stderr. Run returns
// only when no process of the tree is left, or the grace is over and everything
// left was killed.
package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/oklog/run"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// Health is what the supervisor tells the health side and asks of it. The
// health package's Monitor implements it; Run works without one.
type Health interface {
	ChildEnv() []string
	Execute() error
	Interrupt(error)
	ChildStarted(pid int)
	ChildExited(code int)
	Stopping()
	Unhealthy() <-chan struct{}
}

// ExitError is the one typed error for "the child is gone": Code is what hcinit
// exits with.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "exit status " + strconv.Itoa(e.Code)
}

func (e *ExitError) Unwrap() error { return e.Err }

// restartReset: a child that stayed up this long starts the backoff afresh.
const restartReset = 10 * time.Second

// ownStopTimeout is the grace of a stop hcinit decides itself, with no
// orchestrator's grace behind it, when --stop-timeout is not set: restarting or
// leaving an unhealthy child (--on-unhealthy), and the processes left after
// the child exited. It is docker stop's default.
const ownStopTimeout = 10 * time.Second

// afterKill bounds the wait for the kernel to tear down what SIGKILL hit; a
// process in uninterruptible sleep must not keep PID 1 alive for ever.
const afterKill = 5 * time.Second

// Supervisor holds the state the actors share. Build it with New.
type Supervisor struct {
	cfg    Config
	log    *logrus.Logger
	sigs   <-chan os.Signal
	reaper *reaper.Reaper
	health Health
	id     *Identity
	pid1   bool
	tty    bool

	childSigs <-chan os.Signal
	mainPIDs  chan int  // MAINPID= from the notify socket
	stalePid  time.Time // mtime of a --pidfile that existed before the launcher started

	mu   sync.Mutex
	pid  int // the supervised process (the child, or the daemon from --pidfile)
	pgid int

	sent [65]atomic.Uint64 // signals sent to the child by forward, by number
}

// New prepares a supervisor. sigs must already be subscribed to every forwardable
// signal (see internal/earlysig). The reaper is shared with the health side.
func New(cfg Config, sigs <-chan os.Signal, log *logrus.Logger, r *reaper.Reaper) (*Supervisor, error) {
	s := &Supervisor{cfg: cfg, log: log, sigs: sigs, reaper: r, pid1: os.Getpid() == 1, mainPIDs: make(chan int, 1)}
	if cfg.User != "" {
		id, err := LookupUser(cfg.User, "/etc/passwd", "/etc/group")
		if err != nil {
			return nil, err
		}
		s.id = &id
	}
	s.tty = isForegroundTTY(0)
	if cfg.Pidfile != "" {
		r.RememberUnclaimed()
	}
	return s, nil
}

// SetChildSignals hands the reaper a SIGCHLD subscription made earlier (see
// internal/earlysig); without one it subscribes when it starts.
func (s *Supervisor) SetChildSignals(c <-chan os.Signal) { s.childSigs = c }

// SetHealth attaches the health side before Run.
func (s *Supervisor) SetHealth(h Health) { s.health = h }

// ChildPID is the pid of the supervised process, 0 when none runs.
func (s *Supervisor) ChildPID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pid
}

// Credential is who the child runs as; nil means hcinit's own identity.
func (s *Supervisor) Credential() *syscall.Credential {
	if s.id == nil {
		return nil
	}
	return s.id.Cred
}

// ChildUID is the uid the child runs as.
func (s *Supervisor) ChildUID() int {
	if s.id == nil {
		return os.Getuid()
	}
	return int(s.id.Cred.Uid)
}

// Run supervises until the tree is gone and returns hcinit's exit status.
func (s *Supervisor) Run() int {
	if !s.pid1 {
		// As an ordinary process, orphans of the child must come back to us.
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			s.log.WithError(err).Warn("cannot register as child subreaper; orphans will not be reaped")
		}
	}
	if s.cfg.PdeathSig != 0 {
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(s.cfg.PdeathSig), 0, 0, 0); err != nil {
			s.log.WithError(err).Warn("cannot set parent-death signal")
		}
	}

	forwarded := make(chan os.Signal, cap(s.sigs)+1)
	var g run.Group
	{ // signals: moves signals from the early subscription to the child actor.
		done := make(chan struct{})
		g.Add(func() error {
			for {
				select {
				case sig := <-s.sigs:
					forwarded <- sig
				case <-done:
					return nil
				}
			}
		}, func(error) { close(done) })
	}
	{ // reaper: the only wait4 in the process.
		done := make(chan struct{})
		g.Add(func() error {
			if s.childSigs != nil {
				s.reaper.RunOn(s.childSigs, done)
			} else {
				s.reaper.Run(done)
			}
			return nil
		}, func(error) { close(done) })
	}
	if s.health != nil { // health: socket, checks, watcher, notify.
		h := s.health
		done := make(chan struct{})
		var once sync.Once
		g.Add(func() error {
			if err := h.Execute(); err != nil {
				s.log.WithError(err).WithField("component", "health").Error("health stopped")
			}
			// A broken health side must never take the child down: wait.
			<-done
			return nil
		}, func(err error) {
			once.Do(func() {
				h.Interrupt(err)
				close(done)
			})
		})
	}
	{ // child: start, forward, stop, exit.
		stop := make(chan struct{})
		var once sync.Once
		g.Add(func() error {
			return s.supervise(forwarded, stop)
		}, func(error) { once.Do(func() { close(stop) }) })
	}
	err := g.Run()
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if err != nil {
		s.log.WithError(err).Error("supervisor failed")
		return 1
	}
	return 0
}

// start launches the command through the reaper. Its error is an *ExitError
// with 127 or 126, naming the path.
func (s *Supervisor) start() (int, <-chan reaper.Exit, error) {
	argv := s.cfg.Command
	env := os.Environ()
	if s.health != nil {
		// hcinit's own NOTIFY_SOCKET, HEALTHCHECK_* and WATCHDOG_* replace
		// inherited ones (podman --sdnotify, a systemd unit): the first of two
		// entries wins for glibc and Go, so appending would not do.
		env = setEnv(env, "WATCHDOG_PID", "")
		for _, kv := range s.health.ChildEnv() {
			k, v, _ := strings.Cut(kv, "=")
			env = setEnv(env, k, v)
		}
	}
	if s.id != nil {
		env = setEnv(env, "HOME", s.id.Home)
	}
	path, err := lookPath(argv[0], env)
	if err != nil {
		return 0, nil, err
	}
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{
			Setpgid: true,
		},
	}
	if s.tty {
		// An interactive child owns the terminal: Ctrl-C and job control reach it.
		attr.Sys.Foreground = true
		attr.Sys.Ctty = 0
	}
	if s.id != nil {
		attr.Sys.Credential = s.id.Cred
	}
	pid, exited, err := s.reaper.Start(func() (int, error) {
		return syscall.ForkExec(path, argv, attr)
	})
	if err != nil {
		return 0, nil, execError(path, err)
	}
	s.mu.Lock()
	s.pid, s.pgid = pid, pid
	s.mu.Unlock()
	return pid, exited, nil
}

func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	pathEnv := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	var denied error
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() {
			continue
		}
		if fi.Mode()&0o111 == 0 {
			denied = &ExitError{Code: 126, Err: fmt.Errorf("exec %s: permission denied", p)}
			continue
		}
		return p, nil
	}
	if denied != nil {
		return "", denied
	}
	return "", &ExitError{Code: 127, Err: fmt.Errorf("exec %s: %w", name, exec.ErrNotFound)}
}

func execError(path string, err error) error {
	code := 126
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
		code = 127
	}
	return &ExitError{Code: code, Err: fmt.Errorf("exec %s: %w", path, err)}
}

// setEnv replaces key in env; an empty val removes it.
func setEnv(env []string, key, val string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	if val == "" {
		return out
	}
	return append(out, key+"="+val)
}

// translate applies --rewrite and --stop-signal; 0 means drop.
func (s *Supervisor) translate(sig unix.Signal) unix.Signal {
	if to, ok := s.cfg.Rewrite[sig]; ok {
		return to
	}
	if sig == unix.SIGTERM {
		return s.cfg.StopSignal
	}
	return sig
}

// forward sends sig to the child's process group, or to the child alone.
func (s *Supervisor) forward(sig unix.Signal) {
	s.mu.Lock()
	pid, pgid := s.pid, s.pgid
	s.mu.Unlock()
	if pid == 0 {
		// The child is gone; what is left of its group still gets the signal.
		if pgid > 1 && !s.cfg.SingleChild {
			_ = unix.Kill(-pgid, sig)
		}
		return
	}
	log := s.log.WithFields(logrus.Fields{"component": "signals", "signal": sigs.Name(sig), "pid": pid})
	var err error
	if s.cfg.SingleChild || pgid <= 1 {
		err = unix.Kill(pid, sig)
	} else {
		err = unix.Kill(-pgid, sig)
		if errors.Is(err, unix.ESRCH) {
			err = unix.Kill(pid, sig)
		}
	}
	if err != nil && !errors.Is(err, unix.ESRCH) {
		log.WithError(err).Warn("forwarding signal failed")
		return
	}
	if int(sig) < len(s.sent) {
		s.sent[sig].Add(1)
	}
	log.Debug("forwarded signal")
}

// SignalsForwarded counts the signals sent to the child (or its group) by
// name: the forwarded ones and hcinit's own stop signals (for /metrics).
func (s *Supervisor) SignalsForwarded() map[string]uint64 {
	m := map[string]uint64{}
	for i := range s.sent {
		if n := s.sent[i].Load(); n > 0 {
			m[sigs.Name(unix.Signal(i))] = n
		}
	}
	return m
}

// signalTree sends sig to everything hcinit still has below it: the child's
// group and, as PID 1, every process in the namespace (kill(-1) spares PID 1);
// as a subreaper, every descendant found in /proc — kill(-1) there would hit the
// whole host user.
func (s *Supervisor) signalTree(sig unix.Signal) {
	s.mu.Lock()
	pgid := s.pgid
	s.mu.Unlock()
	if pgid > 1 {
		_ = unix.Kill(-pgid, sig)
	}
	if s.pid1 {
		_ = unix.Kill(-1, sig)
		return
	}
	for _, pid := range descendants(os.Getpid()) {
		_ = unix.Kill(pid, sig)
	}
}

// descendants lists every process whose chain of parents reaches root.
func descendants(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid := parentOf(pid); ppid > 0 {
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// parentOf reads the ppid from /proc/PID/stat; the command name may contain
// spaces and parentheses, so parse after the last ')'.
func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

func isForegroundTTY(fd int) bool {
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil {
		return false
	}
	return pgrp == unix.Getpgrp()
}
