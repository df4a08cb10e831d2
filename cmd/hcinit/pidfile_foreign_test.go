package main

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestPidfileNamingAForeignProcess: the pid file names a process hcinit did
// not start (another container's in a shared pid namespace, a root process
// an unprivileged child points at, a stale number reused). hcinit must not
// supervise it: it would forward every signal and its stop to that process
// and wait for an exit it never reaps. It refuses, as MAINPID= is refused,
// and ends with status 1 as for a missing daemon. The old code adopted it
// and never exited (a TERM then reached the foreign process).
func TestPidfileNamingAForeignProcess(t *testing.T) {
	t.Parallel()
	foreign := exec.Command("sleep", "60")
	foreign.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := foreign.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { foreign.Wait(); close(exited) }()
	t.Cleanup(func() { foreign.Process.Kill(); <-exited })

	pidfile := filepath.Join(t.TempDir(), "daemon.pid")
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--pidfile", pidfile,
		"--", "sh", "-c", "echo " + strconv.Itoa(foreign.Process.Pid) + " > " + pidfile + "; exit 0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 1); err != nil {
		t.Errorf("pid file naming a process outside hcinit's tree: %v%s", err, p.stderrNote())
	}
	if !strings.Contains(p.stderr(), "not a process of hcinit's tree") {
		t.Errorf("no reason given%s", p.stderrNote())
	}
	select {
	case <-exited:
		t.Errorf("the foreign process was ended by hcinit%s", p.stderrNote())
	default:
	}
}
