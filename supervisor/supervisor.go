// Package supervisor is hcinit's PID-1 side: it starts one command, forwards
// signals to it, reaps every zombie, runs the stop sequence and reports the
// child's exit status.
//
// Supervisor is the child actor of hcinit's run.Group (cmd/hcinit/run.go); the
// reaper, its sibling there, is the only caller of wait4. The child runs in its
// own process group with hcinit's own stdin, stdout and stderr.
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

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/proc"
	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// Observer is what the child actor tells the health side, and the one thing it
// asks of it: a signal when a live-level check turns unhealthy.
type Observer interface {
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

// Supervisor is the child actor and the state its helpers share. Build it with
// New, run it with Run, stop it with Interrupt.
type Supervisor struct {
	cfg      Config
	log      *logrus.Logger
	reaper   *reaper.Reaper
	observer Observer
	env      []string
	id       *Identity
	pid1     bool
	tty      bool

	stop     chan struct{} // closed by Interrupt
	stopOnce sync.Once
	mainPIDs MainPIDs  // MAINPID= from the notify socket
	stalePid time.Time // mtime of a --pidfile that existed before the launcher started

	mu   sync.Mutex
	pid  int // the supervised process (the child, or the daemon from --pidfile)
	pgid int

	sent *SignalCounts
}

// Deps are what the child actor works with, built before it.
type Deps struct {
	Reaper   *reaper.Reaper // required: the only wait4, shared with exec checks
	Identity *Identity      // who the child runs as; nil = hcinit's own identity
	Observer Observer       // the health side; nil = none
	Env      []string       // KEY=VALUE pairs that replace inherited ones in the child's environment
	Sent     *SignalCounts  // counts the signals sent to the child; nil = not counted
	MainPIDs MainPIDs       // sd_notify's MAINPID= from the health side; nil = none
	Log      *logrus.Logger
}

// New prepares the child actor; it starts nothing.
func New(cfg Config, d Deps) *Supervisor {
	s := &Supervisor{cfg: cfg, log: d.Log, reaper: d.Reaper, observer: d.Observer, env: d.Env,
		id: d.Identity, sent: d.Sent, mainPIDs: d.MainPIDs, pid1: os.Getpid() == 1, stop: make(chan struct{})}
	s.tty = isForegroundTTY(0)
	if cfg.Pidfile != "" {
		d.Reaper.RememberUnclaimed()
	}
	return s
}

// Run is the child actor: it starts the command, forwards what arrives on sigc
// (subscribed before main, see internal/earlysig), runs the stop sequence and
// returns an *ExitError once no process of the tree is left, or the grace is
// over and everything left was killed. The reaper must be running.
func (s *Supervisor) Run(sigc <-chan os.Signal) error {
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
	return s.supervise(sigc, s.stop)
}

// Interrupt starts the stop sequence, as a TERM would; Run returns once the
// tree is gone. It is safe to call more than once, before or after Run.
func (s *Supervisor) Interrupt(error) { s.stopOnce.Do(func() { close(s.stop) }) }

// ExitStatus is hcinit's exit status for what the actors returned: an
// *ExitError's code, 0 for nil, 1 for anything else.
func ExitStatus(err error) int {
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		return ee.Code
	case err != nil:
		return 1
	}
	return 0
}

// ResolveUser resolves --user from /etc/passwd and /etc/group; "" is nil,
// hcinit's own identity.
func ResolveUser(spec string) (*Identity, error) {
	if spec == "" {
		return nil, nil
	}
	id, err := LookupUser(spec, "/etc/passwd", "/etc/group")
	if err != nil {
		return nil, err
	}
	return &id, nil
}

// start launches the command through the reaper. Its error is an *ExitError
// with 127 or 126, naming the path.
func (s *Supervisor) start() (int, <-chan reaper.Exit, error) {
	argv := s.cfg.Command
	env := os.Environ()
	if s.observer != nil {
		// hcinit's own NOTIFY_SOCKET, HEALTHCHECK_* and WATCHDOG_* replace
		// inherited ones (podman --sdnotify, a systemd unit): the first of two
		// entries wins for glibc and Go, so appending would not do.
		env = setEnv(env, "WATCHDOG_PID", "")
	}
	for _, kv := range s.env {
		k, v, _ := strings.Cut(kv, "=")
		env = setEnv(env, k, v)
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
	s.sent.add(sig)
	log.Debug("forwarded signal")
}

// SignalCounts counts the signals sent to the child (or its group): the
// forwarded ones and hcinit's own stop signals (for /metrics). The zero value
// is ready; it is safe for concurrent use.
type SignalCounts struct{ n [65]atomic.Uint64 }

func (c *SignalCounts) add(sig unix.Signal) {
	if c != nil && int(sig) < len(c.n) {
		c.n[sig].Add(1)
	}
}

// ByName returns the counts by signal name, without the zero ones.
func (c *SignalCounts) ByName() map[string]uint64 {
	m := map[string]uint64{}
	for i := range c.n {
		if n := c.n[i].Load(); n > 0 {
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
	for _, pid := range proc.Descendants(os.Getpid()) {
		_ = unix.Kill(pid, sig)
	}
}

func isForegroundTTY(fd int) bool {
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil {
		return false
	}
	return pgrp == unix.Getpgrp()
}
