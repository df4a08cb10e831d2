package supervisor

import (
	"errors"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// start launches the command through the reaper. Its error is an *ExitError
// with 127 or 126, naming the path.
func (s *Supervisor) start() (int, <-chan reaper.Exit, error) {
	argv := s.cfg.Command
	attr := s.procAttr()
	if s.beforeStart != nil {
		s.beforeStart()
	}
	pid, exited, err := s.reaper.Exec(argv[0], argv, attr)
	var ee *reaper.ExecError
	if errors.As(err, &ee) {
		return 0, nil, &ExitError{Code: ee.Code, Err: explainExec(ee, attr.Sys.Credential != nil)}
	}
	if err != nil {
		return 0, nil, err
	}
	s.mu.Lock()
	s.pid, s.pgid = pid, pid
	s.mu.Unlock()
	return pid, exited, nil
}

// procAttr is how the child starts: in a process group of its own with
// hcinit's stdin, stdout and stderr, as --user, in the foreground of a
// terminal hcinit has.
func (s *Supervisor) procAttr() *syscall.ProcAttr {
	attr := &syscall.ProcAttr{
		Env:   s.childEnv(),
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
	return attr
}

// childEnv is hcinit's environment with the health side's variables and
// --user's HOME in place of inherited ones.
func (s *Supervisor) childEnv() []string {
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
	return env
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

func isForegroundTTY(fd int) bool {
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	if err != nil {
		return false
	}
	return pgrp == unix.Getpgrp()
}
