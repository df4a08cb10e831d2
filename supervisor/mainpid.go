package supervisor

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// SetMainPID tells the child actor that pid is the main process from now on
// (sd_notify's MAINPID=, systemd.service(5)): it is supervised as a --pidfile
// daemon is. It never blocks; a newer pid replaces one not yet taken.
func (s *Supervisor) SetMainPID(pid int) {
	for {
		select {
		case s.mainPIDs <- pid:
			return
		default:
		}
		select {
		case <-s.mainPIDs:
		default:
		}
	}
}

// adoptMainPID watches pid and makes it the supervised process, with its
// process group.
func (s *Supervisor) adoptMainPID(pid int) (<-chan reaper.Exit, error) {
	ch := s.reaper.Watch(pid)
	if err := unix.Kill(pid, 0); err != nil && !errors.Is(err, unix.EPERM) {
		select {
		case e := <-ch:
			c := make(chan reaper.Exit, 1)
			c <- e
			return c, nil
		default:
			return nil, fmt.Errorf("MAINPID=%d is not running", pid)
		}
	}
	pgid, perr := unix.Getpgid(pid)
	s.mu.Lock()
	s.pid = pid
	if perr == nil && pgid != unix.Getpgrp() {
		s.pgid = pgid
	}
	s.mu.Unlock()
	return ch, nil
}
