package health

import (
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/proc"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// drainGrace bounds reading a probe's output after it exited: a grandchild that
// left the process group may still hold the pipe.
const drainGrace = 200 * time.Millisecond

// reapGrace bounds waiting for the reaper after a SIGKILL; only a stopped
// reaper (shutdown) makes it matter.
const reapGrace = 2 * time.Second

// Check runs argv without a shell, as the child's user, in a process group
// of its own, started through the reaper (which alone waits for it). Exit 0
// passes. At the timeout, and after the probe exits, the whole group is killed,
// and so is every process that carries the run's token in its environment
// (one that daemonised out of the group: see leftovers.go), so neither a slow
// probe nor its grandchildren outlive the run. Combined
// output is capped at maxOutput bytes, keeping the head.
func (e execChecker) Check(ctx context.Context) outcome {
	argv := e.argv
	r, w, err := os.Pipe()
	if err != nil {
		return fail("start %s: %v", argv[0], err)
	}
	defer r.Close()
	stdin := ^uintptr(0) // closed in the child
	if null, err := os.Open(os.DevNull); err == nil {
		defer null.Close()
		stdin = null.Fd()
	}
	sys := &syscall.SysProcAttr{Setpgid: true}
	if cred := e.cred; cred != nil && os.Getuid() == 0 {
		sys.Credential = cred
	}
	token := newRunToken()
	attr := &syscall.ProcAttr{
		Dir:   e.dir,
		Env:   append(e.env(), probeRunEnv+"="+token),
		Files: []uintptr{stdin, w.Fd(), w.Fd()},
		Sys:   sys,
	}
	// One lookup and one 126/127 rule with the child: reaper.Exec.
	pid, exited, err := e.reaper.Exec(argv[0], argv, attr)
	w.Close()
	var ee *reaper.ExecError
	if errors.As(err, &ee) {
		return outcome{code: ee.Code, output: ee.Error()}
	}
	if err != nil {
		return fail("start %s: %v", argv[0], err)
	}
	probeStarted(pid)
	defer probeEnded(pid)

	out := make(chan string, 1)
	go func() { out <- readHead(r, maxOutput) }()

	var o outcome
	select {
	case e := <-exited:
		o.code = e.Code()
		unix.Kill(-pid, unix.SIGKILL) // leftovers in the probe's group
	case <-ctx.Done():
		unix.Kill(-pid, unix.SIGKILL)
		o.code = -1
		select {
		case <-exited:
		case <-time.After(reapGrace):
		}
	}
	// What left the group (setsid, a daemon) still carries the run's token.
	if n := killRun(token); n > 0 {
		e.log.WithField("processes", n).Debug("killed what an exec check left running")
	}
	r.SetReadDeadline(time.Now().Add(drainGrace))
	o.output = strings.TrimSpace(<-out)
	return o
}

// env is a probe's environment: hcinit's, with the child's HOME (--user's
// home directory) as the child gets it, so that a probe reading ~/.my.cnf or
// ~/.pgpass runs as Docker's HEALTHCHECK and a kubelet exec probe run it as
// that user.
func (e execChecker) env() []string {
	env := os.Environ()
	if e.home == "" {
		return env
	}
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "HOME=") {
			out = append(out, kv)
		}
	}
	return append(out, "HOME="+e.home)
}

// readHead reads r to the end (or an error) and returns the first n bytes.
func readHead(r io.Reader, n int) string {
	var b strings.Builder
	io.CopyN(&b, r, int64(n))
	io.Copy(io.Discard, r)
	return b.String()
}

// runningProbes are the exec probes running now, by pid (the id of their
// process group too), in this process: MAINPID= must never name one (see
// execProbeOf).
var runningProbes struct {
	sync.Mutex
	pids map[int]bool
}

func probeStarted(pid int) {
	runningProbes.Lock()
	if runningProbes.pids == nil {
		runningProbes.pids = map[int]bool{}
	}
	runningProbes.pids[pid] = true
	runningProbes.Unlock()
}

func probeEnded(pid int) {
	runningProbes.Lock()
	delete(runningProbes.pids, pid)
	runningProbes.Unlock()
}

// execProbeOf returns the running exec probe that pid is, descends from or
// shares a process group with, 0 for none. Those are hcinit's own processes,
// what systemd calls control processes; never the application's.
func execProbeOf(pid int) int {
	runningProbes.Lock()
	probes := maps.Clone(runningProbes.pids)
	runningProbes.Unlock()
	if len(probes) == 0 {
		return 0
	}
	if pgid, err := unix.Getpgid(pid); err == nil && probes[pgid] {
		return pgid
	}
	p, _ := proc.Ancestor(pid, func(p int) bool { return probes[p] })
	return p
}
