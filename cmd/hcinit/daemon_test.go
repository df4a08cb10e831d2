package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
	"golang.org/x/sys/unix"
)

// TestPidfile: the command forks a daemon, writes its pid and exits 0. hcinit
// keeps running, forwards TERM to the daemon and exits with the daemon's status.
func TestPidfile(t *testing.T) {
	t.Parallel()
	pidfile := filepath.Join(t.TempDir(), "daemon.pid")
	p, err := spawn(t, []string{hcinitBin(), "--pidfile", pidfile, "--", "sh", "-c",
		"sigprint -name daemon -exit SIGTERM -code 7 & echo $! > " + pidfile + "; echo launcher ready $$; exit 0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "daemon", "launcher"); err != nil {
		t.Fatal(err)
	}
	for _, s := range p.out.snapshot() {
		if f := strings.Fields(s); len(f) == 3 && f[0] == "launcher" {
			pid, _ := strconv.Atoi(f[2])
			if err := waitGone(pid, readyWait); err != nil {
				t.Fatalf("launcher: %v", err)
			}
		}
	}
	// The launcher is gone; hcinit must still be there, forwarding to the daemon.
	if err := p.signal(unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if err := p.out.await(sigWait, "daemon SIGUSR1"); err != nil {
		t.Fatalf("after the launcher exited: %v (hcinit exited: %v)%s", err, p.exited(), p.stderrNote())
	}
	if err := p.signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.out.await(sigWait, "daemon SIGTERM"); err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 7); err != nil {
		t.Fatalf("daemon exited 7: %v", err)
	}
}

// TestRestartOnFailure: a command that fails twice and then succeeds is run
// three times, with the backoff doubling between runs, and hcinit exits 0.
func TestRestartOnFailure(t *testing.T) {
	t.Parallel()
	count := filepath.Join(t.TempDir(), "count")
	start := time.Now()
	p, err := spawn(t, []string{hcinitBin(), "--restart", "on-failure", "--restart-delay", "100ms",
		"--restart-max-delay", "1s", "--", "sh", "-c",
		`echo run >> ` + count + `; n=$(wc -l < ` + count + `); [ "$n" -ge 3 ] && exit 0; exit 1`})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 0); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(count)
	if err != nil {
		t.Fatal(err)
	}
	if runs := strings.Count(string(b), "run\n"); runs != 3 {
		t.Errorf("ran %d times, want 3", runs)
	}
	// Delays 100ms, then 200ms: at least 300ms in all.
	if took := p.ended.Sub(start); took < 300*time.Millisecond {
		t.Errorf("three runs took %s: no backoff of 100ms + 200ms", took.Round(time.Millisecond))
	}
}

// TestRestartNoOnSuccess: on-failure does not restart a child that exits 0.
func TestRestartNoOnSuccess(t *testing.T) {
	t.Parallel()
	count := filepath.Join(t.TempDir(), "count")
	p, err := spawn(t, []string{hcinitBin(), "--restart", "on-failure", "--restart-delay", "100ms", "--",
		"sh", "-c", "echo run >> " + count + "; exit 0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 0); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(count); string(b) != "run\n" {
		t.Errorf("runs: %q, want one", b)
	}
}

// TestParentDeathSignal: with -p TERM (tini's), hcinit stops its child when its
// own parent dies.
func TestParentDeathSignal(t *testing.T) {
	t.Parallel()
	// sh starts hcinit in the background and waits on its stdin; closing that
	// ends sh, which is hcinit's parent.
	sh := exec.Command("sh", "-c", `"$0" -p SIGTERM -- sigprint -exit SIGTERM & read x`, hcinitBin())
	sh.Env = append(os.Environ(), ownSocket())
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, release, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out := newLines()
	sh.Stdin, sh.Stdout, sh.Dir = stdin, w, t.TempDir()
	if err := sh.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	stdin.Close()
	go out.read(r)
	t.Cleanup(func() {
		release.Close()
		for _, pid := range out.readyPids() {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		_ = sh.Wait()
		r.Close()
	})
	if err := out.ready(readyWait, "child"); err != nil {
		t.Fatal(err)
	}
	release.Close() // sh reads EOF and exits
	if err := out.await(exitWait, "child SIGTERM"); err != nil {
		t.Fatalf("hcinit's parent died: %v", err)
	}
}

// TestStalePidfile: a pid file from an earlier run names pid 999999. The
// launcher starts a daemon that writes its own pid 200 ms later and exits at
// once. hcinit must wait for that write and supervise the daemon; before the
// fix it took the stale pid, found it dead and exited 1.
func TestStalePidfile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "hc.sock")
	pidfile := filepath.Join(dir, "daemon.pid")
	if err := os.WriteFile(pidfile, []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(pidfile, old, old); err != nil {
		t.Fatal(err)
	}
	launcher := filepath.Join(dir, "launch.sh")
	script := "#!/bin/sh\n" +
		"setsid sh -c 'sleep 0.2; echo $$ > " + pidfile + "; exec sigprint -name daemon -exit SIGTERM -code 3' &\n" +
		"exit 0\n"
	if err := os.WriteFile(launcher, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--pidfile", pidfile, "--", launcher})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "daemon"); err != nil {
		t.Fatalf("%v (hcinit exited: %v)%s", err, p.exited(), p.stderrNote())
	}
	daemon := p.out.readyPid("daemon")
	if _, err := waitStatus(sock, 5*time.Second, "child_pid is the daemon's",
		func(st health.Status) bool { return st.ChildPID == daemon }); err != nil {
		t.Fatalf("%v (hcinit exited: %v)%s", err, p.exited(), p.stderrNote())
	}
	if err := p.running(time.Until(start.Add(time.Second))); err != nil {
		t.Fatalf("supervising the daemon: %v", err)
	}
	if err := p.signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.out.await(sigWait, "daemon SIGTERM"); err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 3); err != nil {
		t.Fatalf("daemon exits 3 on TERM: %v", err)
	}
}
