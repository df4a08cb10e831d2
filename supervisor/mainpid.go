package supervisor

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// MainPIDs carries sd_notify's MAINPID= (systemd.service(5)) from the health
// side to the child actor, which supervises that pid from then on as it does a
// --pidfile daemon. Make it with NewMainPIDs.
type MainPIDs chan int

// NewMainPIDs returns a mailbox of one.
func NewMainPIDs() MainPIDs { return make(MainPIDs, 1) }

// Set tells the child actor that pid is the main process from now on. It never
// blocks; a newer pid replaces one not yet taken.
func (c MainPIDs) Set(pid int) {
	for {
		select {
		case c <- pid:
			return
		default:
		}
		select {
		case <-c:
		default:
		}
	}
}

// adoptMainPID makes pid, announced with MAINPID=, the supervised process.
func (s *Supervisor) adoptMainPID(pid int) (<-chan reaper.Exit, error) {
	ch, err := s.adopt(pid)
	if err != nil {
		return nil, fmt.Errorf("MAINPID=%d %w", pid, err)
	}
	return ch, nil
}

var errNotRunning = errors.New("is not running")

// adopt watches pid and makes it the supervised process, with its process
// group (none when it shares hcinit's own, which is never signalled). A pid
// that is gone already yields its exit if the reaper still holds it, else
// errNotRunning. Used for --pidfile daemons and MAINPID=.
func (s *Supervisor) adopt(pid int) (<-chan reaper.Exit, error) {
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

// childPID is the pid of the supervised process, 0 when none runs.
func (s *Supervisor) childPID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pid
}
