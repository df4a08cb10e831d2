package supervisor

import (
	"errors"
	"os"
	"sync/atomic"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/proc"
	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
)

// translate applies --rewrite and --stop-signal; 0 means drop.
func translate(cfg *Config, sig unix.Signal) unix.Signal {
	if to, ok := cfg.Rewrite[sig]; ok {
		return to
	}
	if sig == unix.SIGTERM {
		return cfg.StopSignal
	}
	return sig
}

// forward sends sig to the child's process group, or to the child alone.
func (s *Supervisor) forward(sig unix.Signal) {
	s.mu.Lock()
	pid, pgid := s.pid, s.pgid
	s.mu.Unlock()
	if pid == 0 {
		// The child is gone; what is left of its group still gets the
		// signal, while a process of hcinit's tree is in it: the id of an
		// empty group is free, and may lead someone else's group by now (a
		// `docker exec` process's setsid, any process's on a host).
		if pgid > 1 && !s.cfg.SingleChild && ourGroup(pgid) {
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

// ourGroup reports whether a process below hcinit is in process group pgid.
// While one is, the id cannot go to another group.
func ourGroup(pgid int) bool {
	for _, pid := range proc.Descendants(os.Getpid()) {
		if g, err := unix.Getpgid(pid); err == nil && g == pgid {
			return true
		}
	}
	return false
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

// signalTree sends sig to everything hcinit still has below it, once each:
// as PID 1, every process in the namespace (kill(-1) spares PID 1); as a
// subreaper, the child's group and every other descendant found in /proc —
// kill(-1) there would hit the whole host user. Once: a process whose handler
// took the first copy would run it again (a shell trap's shutdown twice).
func (s *Supervisor) signalTree(sig unix.Signal) {
	if s.pid1 {
		_ = unix.Kill(-1, sig)
		return
	}
	s.mu.Lock()
	pgid := s.pgid
	s.mu.Unlock()
	if pgid > 1 {
		_ = unix.Kill(-pgid, sig)
	}
	for _, pid := range proc.Descendants(os.Getpid()) {
		if pgid > 1 {
			if g, err := unix.Getpgid(pid); err == nil && g == pgid {
				continue // reached through the group
			}
		}
		_ = unix.Kill(pid, sig)
	}
}

// stopRest sends sig (and SIGCONT) to every remaining descendant the stop
// signal has not reached: outside the child's process group, or any in
// --single-child mode.
func (s *Supervisor) stopRest(sig unix.Signal) {
	s.mu.Lock()
	pgid := s.pgid
	s.mu.Unlock()
	for _, pid := range proc.Descendants(os.Getpid()) {
		if !s.cfg.SingleChild && pgid > 1 {
			if g, err := unix.Getpgid(pid); err == nil && g == pgid {
				continue
			}
		}
		_ = unix.Kill(pid, sig)
		if sig != unix.SIGCONT && sig != unix.SIGKILL {
			_ = unix.Kill(pid, unix.SIGCONT)
		}
	}
}
