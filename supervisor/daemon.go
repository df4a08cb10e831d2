package supervisor

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/proc"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// pidfileWait bounds how long a daemon may take to write its pid file after its
// launcher exited.
const pidfileWait = 10 * time.Second

// adoption is the outcome of waiting for a daemon's pid file.
type adoption struct {
	pid    int
	exited <-chan reaper.Exit
	err    error
}

// awaitDaemon runs adoptDaemon in the background and delivers its outcome.
func (s *Supervisor) awaitDaemon() <-chan adoption {
	c := make(chan adoption, 1)
	go func() {
		pid, ch, err := s.adoptDaemon()
		c <- adoption{pid, ch, err}
	}()
	return c
}

// adoptDaemon reads --pidfile after the launcher exited and watches that pid. As
// PID 1 or subreaper hcinit is the daemon's parent, so the reaper sees its exit.
func (s *Supervisor) adoptDaemon() (int, <-chan reaper.Exit, error) {
	deadline := time.Now().Add(pidfileWait)
	var pid int
	var err error
	for {
		pid, err = s.readFreshPidfile()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // bounded, start-up only
	}
	if err != nil {
		return 0, nil, err
	}
	ch, err := s.adopt(pid)
	if err != nil {
		return 0, nil, fmt.Errorf("daemon pid %d from %s %w", pid, s.cfg.Pidfile, err)
	}
	return pid, ch, nil
}

// readFreshPidfile reads --pidfile, refusing one not written since hcinit
// started (see Supervisor.stalePid).
func (s *Supervisor) readFreshPidfile() (int, error) {
	pid, err := readPidfile(s.cfg.Pidfile)
	if err != nil || s.stalePid.IsZero() {
		return pid, err
	}
	if fi, serr := os.Stat(s.cfg.Pidfile); serr == nil && !fi.ModTime().After(s.stalePid) {
		return pid, fmt.Errorf("pid file %s: not rewritten by the daemon since hcinit started", s.cfg.Pidfile)
	}
	return pid, nil
}

func readPidfile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("pid file %s: want a pid above 1, have %q", path, strings.TrimSpace(string(b)))
	}
	return pid, nil
}

// adoptMainPID makes pid, announced with MAINPID=, the supervised process.
// One that is not hcinit's child has a parent of its own that will take its
// exit status (`sh -c 'server & wait'`), unless that parent ends first and
// it comes to hcinit: systemd warns it will "most likely not notice when it
// exits" (src/core/service.c, service_set_main_pidref). For such a process
// unseen is closed once it is gone and its exit did not come to hcinit; the
// previous supervised process is then restore'd.
func (s *Supervisor) adoptMainPID(pid int) (exited <-chan reaper.Exit, unseen <-chan struct{}, err error) {
	var pidfd *os.File
	if p, err := proc.Stat(pid); err == nil && p.PPID != os.Getpid() {
		pidfd = s.openPidfd(pid) // before adopt looks whether it runs: an end right after is seen
	}
	s.mu.Lock()
	before := [2]int{s.pid, s.pgid}
	s.mu.Unlock()
	ch, err := s.adopt(pid)
	if err != nil {
		if pidfd != nil {
			pidfd.Close()
		}
		return nil, nil, fmt.Errorf("MAINPID=%d %w", pid, err)
	}
	s.mu.Lock()
	s.before = before
	s.mu.Unlock()
	if pidfd != nil {
		unseen = s.watchUnseen(pid, pidfd)
	}
	return ch, unseen, nil
}

// restore makes the process supervised before the last MAINPID= the one
// signals go to again.
func (s *Supervisor) restore() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pid, s.pgid = s.before[0], s.before[1]
	return s.pid
}

// openPidfd opens a pidfd for pid, nil when the kernel cannot (before 5.3,
// or pid is gone): the end of a main process that is not hcinit's child then
// goes unnoticed, as before.
func (s *Supervisor) openPidfd(pid int) *os.File {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		s.log.WithError(err).WithField("pid", pid).Debug("no pidfd: the end of a main process that is not hcinit's child goes unnoticed")
		return nil
	}
	return os.NewFile(uintptr(fd), "pidfd")
}

// watchUnseen returns a channel closed once pid (pidfd, which it closes) has
// ended with its exit status going elsewhere: its own parent took it. A
// pidfd becomes readable when the process ends, whoever its parent is; Go's
// poller waits for that, no thread blocks.
func (s *Supervisor) watchUnseen(pid int, pidfd *os.File) <-chan struct{} {
	rc, err := pidfd.SyscallConn()
	if err != nil {
		pidfd.Close()
		return nil
	}
	c := make(chan struct{})
	go func() {
		defer pidfd.Close()
		ended := false
		if rc.Read(func(fd uintptr) bool {
			n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
			if n <= 0 {
				return false
			}
			// Ended. Its exit is hcinit's if it is hcinit's zombie now
			// (re-parented: its parent ended first): the reaper hands it
			// out.
			var info unix.Siginfo
			err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
			ended = err != nil || info.Signo != int32(unix.SIGCHLD)
			return true
		}) != nil || !ended {
			return
		}
		// Unless the reaper has taken it already (and hands it out).
		if s.reaper.Unwatch(pid) {
			close(c)
		}
	}()
	return c
}

var (
	errNotRunning = errors.New("is not running")
	errIsSelf     = errors.New("is hcinit itself")
	errNotOurs    = errors.New("is not a process of hcinit's tree")
)

// adopt watches pid and makes it the supervised process, with its process
// group (none when it shares hcinit's own, which is never signalled). A pid
// that is gone already yields its exit if the reaper still holds it, else
// errNotRunning. Used for --pidfile daemons and MAINPID=.
func (s *Supervisor) adopt(pid int) (<-chan reaper.Exit, error) {
	if pid == os.Getpid() {
		// Supervising itself, hcinit would forward each signal to itself for
		// ever (a pid file or MAINPID= naming the launcher's parent).
		return nil, errIsSelf
	}
	if ours, err := proc.Under(pid, os.Getpid()); err == nil && !ours {
		// Not started by the child (nor an orphan of it): a pid file or
		// MAINPID= naming another process must not make hcinit forward
		// signals to it, stop it, or wait for an exit it never reaps.
		return nil, errNotOurs
	}
	ch := s.reaper.Watch(pid)
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		select {
		case e := <-ch:
			c := make(chan reaper.Exit, 1)
			c <- e
			return c, nil
		default:
			return nil, errNotRunning
		}
	}
	pgid, perr := unix.Getpgid(pid)
	s.mu.Lock()
	s.pid, s.pgid = pid, pid
	if perr == nil {
		s.pgid = pgid
	}
	if s.pgid == unix.Getpgrp() {
		s.pgid = 0 // never signal hcinit's own group
	}
	s.mu.Unlock()
	return ch, nil
}
