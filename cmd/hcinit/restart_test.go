package main

// Restarts: --on-unhealthy restart, its grace and its backoff.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestUnhealthyRestartKeepsRunning: --on-unhealthy restart with a child that
// ignores TERM kills it after each grace and starts it again, for as long as it
// takes. Before the fix the first SIGKILL armed the "processes survived
// SIGKILL" deadline and hcinit exited 137 five seconds later.
func TestUnhealthyRestartKeepsRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	starts := filepath.Join(dir, "starts")
	// The first probe runs at once: it fails only once a sigprint has its
	// handlers (the -ready file), so a TERM finds them. Each child removes
	// the file its predecessor left.
	ready := filepath.Join(dir, "ready")
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"),
		"--on-unhealthy", "restart", "--check", "exec=/usr/bin/test,arg=!,arg=-e,arg=" + ready, "--interval", "300ms", "--retries", "1",
		"--stop-timeout", "500ms", "--restart-delay", "0.2", "--restart-max-delay", "400ms", "--",
		"sh", "-c", "rm -f " + ready + "; echo start >> " + starts + "; exec sigprint -ready " + ready})
	if err != nil {
		t.Fatal(err)
	}
	// afterKill is 5 s: well past it.
	if err := p.running(7 * time.Second); err != nil {
		t.Fatalf("restarting an unhealthy child: %v", err)
	}
	n := lineCount(starts)
	if n < 3 {
		t.Fatalf("%d child starts in 7s, want at least 3 (two restarts)%s", n, p.stderrNote())
	}
	if !hasPrefix(p.out.snapshot(), "child SIGTERM") {
		t.Errorf("no child got the stop signal before its SIGKILL")
	}
	// Still supervising: another start follows.
	deadline := time.Now().Add(5 * time.Second)
	for lineCount(starts) == n {
		if time.Now().After(deadline) || p.exited() {
			t.Fatalf("no child start after the 7 s mark (hcinit exited: %v)%s", p.exited(), p.stderrNote())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSignalDuringBackoff: a signal that does not stop hcinit, arriving while
// no child runs (the restart backoff), goes to what is left of the child's
// group and nowhere else. As PID 1 the old code sent it to every process in
// the namespace, `docker exec` shells included.
func TestSignalDuringBackoff(t *testing.T) {
	t.Parallel()
	argv := func(sock string) []string {
		return []string{hcinitBin(), "--socket", sock, "--restart", "always", "--restart-delay", "2s", "--",
			"sh", "-c", "exit 1"}
	}

	t.Run("subreaper", func(t *testing.T) {
		t.Parallel()
		// A process of the test's own, not below hcinit.
		bystander := exec.Command("sleep", "30")
		bystander.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := bystander.Start(); err != nil {
			t.Fatal(err)
		}
		gone := make(chan struct{})
		go func() { _ = bystander.Wait(); close(gone) }()
		t.Cleanup(func() { _ = bystander.Process.Kill(); <-gone })

		p, err := spawn(t, argv(filepath.Join(t.TempDir(), "hc.sock")))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.waitStderr("restarting child", 1, readyWait); err != nil {
			t.Fatal(err)
		}
		if err := p.signal(unix.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		select {
		case <-gone:
			t.Fatalf("a process outside hcinit's tree died of the USR1 sent to hcinit: %v", bystander.ProcessState)
		case <-time.After(500 * time.Millisecond): // nothing announces that a signal went nowhere
		}
		if p.exited() {
			t.Fatalf("hcinit exited on USR1%s", p.stderrNote())
		}
	})

	t.Run("pid1", func(t *testing.T) {
		t.Parallel()
		needRoot(t)
		p, err := spawn(t, append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"},
			argv(filepath.Join(t.TempDir(), "hc.sock"))...))
		if err != nil {
			t.Fatal(err)
		}
		hc, err := childOf(p.pid(), "hcinit", readyWait)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.waitStderr("restarting child", 1, readyWait); err != nil {
			t.Fatal(err)
		}
		// `docker exec`: a process that joins the namespace from outside.
		out, err := nsenter(t, hc, "sigprint", "-name", "exec")
		if err != nil {
			t.Fatal(err)
		}
		if err := out.ready(readyWait, "exec"); err != nil {
			t.Fatal(err)
		}
		if err := unix.Kill(hc, unix.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		if err := out.await(500*time.Millisecond, "exec SIGUSR1"); err == nil {
			t.Errorf("USR1 to hcinit as PID 1 with no child reached a process that joined the namespace")
		}
		if p.exited() {
			t.Fatalf("hcinit exited on USR1%s", p.stderrNote())
		}
	})
}

// restartingChild is `sh -c` for a child that starts a background process
// (left<N>, N counting the starts from 0), waits until it runs, and exits 1
// with it still running: a prefork server whose master crashed. First it
// says whether the previous start's leftover is still running: "start N:
// clean" or "start N: left<N-1> still runs". bg is the background command,
// with NAME and READY in it replaced. first, when set, is a file the first
// start waits for.
func restartingChild(dir, bg, first string) string {
	wait := ""
	if first != "" {
		wait = `[ "$n" = 0 ] && waitfile ` + first + "\n"
	}
	bg = strings.NewReplacer("NAME", "left$n", "READY", dir+"/ready$n").Replace(bg)
	return `n=$(cat ` + dir + `/n 2>/dev/null || echo 0); echo $((n+1)) > ` + dir + `/n
p=$((n-1))
if [ -s ` + dir + `/ready$p ] && kill -0 "$(cat ` + dir + `/ready$p)" 2>/dev/null; then echo "start $n: left$p still runs"; else echo "start $n: clean"; fi
` + wait + bg + ` &
waitfile ` + dir + `/ready$n || exit 3
exit 1`
}

// awaitStarts waits for the "start N: …" line of the first n starts and
// fails on any that found its predecessor's leftover still running.
func awaitStarts(t *testing.T, p *proc, n int) {
	t.Helper()
	want := fmt.Sprintf("start %d: ", n-1)
	if err := p.out.waitFor(30*time.Second, func(all []string) bool { return hasPrefix(all, want) }); err != nil {
		t.Fatalf("no %q line: %v%s", want, err, p.stderrNote())
	}
	for _, l := range p.out.snapshot() {
		if strings.HasPrefix(l, "start ") && !strings.HasSuffix(l, ": clean") {
			t.Errorf("%s: the new child started while the old one's process still ran", l)
		}
	}
}

// leftSignals is signalsOf without the SIGCONT that follows a stop signal.
func leftSignals(all []string, name string) []string {
	return slices.DeleteFunc(signalsOf(all, name), func(s string) bool { return s == "SIGCONT" })
}

// TestRestartStopsWhatTheChildLeft: before --restart starts the child again,
// what the old one left running (its process group, processes in a session
// of their own) gets the stop signal, and SIGKILL after hcinit's own bound,
// as systemd stops a unit's whole cgroup before ExecStart runs again and a
// Docker restart starts from an empty container. The old code started the
// new child at once, next to the old one's leftovers: one more per restart.
func TestRestartStopsWhatTheChildLeft(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		flags []string
		bg    string
		sig   string // what each leftover printed before it went
	}{
		{"the stop signal", []string{"--stop-signal", "INT"}, "sigprint -name NAME -exit INT -ready READY", "SIGINT"},
		{"ignored: SIGKILL after --stop-timeout", []string{"--stop-timeout", "300ms"}, "sigprint -name NAME -ready READY", "SIGTERM"},
		{"in a session of its own", nil, "setsid sigprint -name NAME -exit TERM -ready READY", "SIGTERM"},
		{"--single-child", []string{"--single-child"}, "sigprint -name NAME -exit TERM -ready READY", "SIGTERM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			// A process of the test's own, outside hcinit's tree: never signalled.
			by, err := spawn(t, []string{"sigprint", "-name", "bystander"})
			if err != nil {
				t.Fatal(err)
			}
			if err := by.out.ready(readyWait, "bystander"); err != nil {
				t.Fatal(err)
			}
			argv := append([]string{hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--restart", "always", "--restart-delay", "100ms"}, tc.flags...)
			p, err := spawn(t, append(argv, "--", "sh", "-c", restartingChild(dir, tc.bg, "")))
			if err != nil {
				t.Fatal(err)
			}
			awaitStarts(t, p, 3)
			all := p.out.snapshot()
			for _, n := range []string{"left0", "left1"} {
				pid := p.out.readyPid(n)
				if pid == 0 {
					t.Fatalf("%s never ran: %q", n, all)
				}
				if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
					t.Errorf("%s (pid %d) still there after the next start (kill 0: %v)", n, pid, err)
				}
				if got := leftSignals(all, n); len(got) == 0 || got[0] != tc.sig {
					t.Errorf("%s got %q, want %s first", n, got, tc.sig)
				}
			}
			if got := signalsOf(by.out.snapshot(), "bystander"); len(got) > 0 {
				t.Errorf("a process outside hcinit's tree got %q", got)
			}
		})
	}

	t.Run("pid1", func(t *testing.T) {
		t.Parallel()
		needRoot(t)
		dir := t.TempDir()
		first := filepath.Join(dir, "go")
		p, err := spawn(t, []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
			hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--restart", "always", "--restart-delay", "100ms", "--",
			"sh", "-c", restartingChild(dir, "sigprint -name NAME -exit TERM -ready READY >/dev/null", first)})
		if err != nil {
			t.Fatal(err)
		}
		hc, err := childOf(p.pid(), "hcinit", readyWait)
		if err != nil {
			t.Fatal(err)
		}
		// `docker exec`: a process that joined the namespace from outside.
		exe, err := nsenter(t, hc, "sigprint", "-name", "exec")
		if err != nil {
			t.Fatal(err)
		}
		if err := exe.ready(readyWait, "exec"); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(first, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		awaitStarts(t, p, 3)
		if got := signalsOf(exe.snapshot(), "exec"); len(got) > 0 {
			t.Errorf("a process that joined the namespace got %q", got)
		}
	})
}

// TestRestartFreesThePort: a server whose worker outlives its crashed master
// holds the port; the old code started the next instance next to it, which
// died "address already in use", and so every one after it (a restart loop).
// Now each restart first stops what the last one left, and the new instance
// binds and answers.
func TestRestartFreesThePort(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freePort(t)
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--restart", "on-failure", "--restart-delay", "100ms", "--",
		"sh", "-c", restartingChild(dir, "listen -name NAME -addr "+addr+" -ready READY", "")})
	if err != nil {
		t.Fatal(err)
	}
	for n := range 3 {
		name := fmt.Sprint("left", n)
		if err := p.out.waitFor(30*time.Second, func(all []string) bool {
			return hasPrefix(all, name+" ready ") || hasPrefix(all, name+" cannot listen")
		}); err != nil {
			t.Fatalf("instance %d: %v%s", n, err, p.stderrNote())
		}
		if all := p.out.snapshot(); hasPrefix(all, name+" cannot listen") {
			t.Fatalf("instance %d could not bind: %q", n, all)
		}
	}
}

// TestRestartStopWins: a stop trigger (docker stop's TERM) that arrives
// while hcinit stops what the old child left before a restart makes it the
// normal stop: no restart, the stop signal not sent twice, and no SIGKILL on
// hcinit's own schedule: the grace is the orchestrator's.
func TestRestartStopWins(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The leftover ignores TERM and ends on USR1.
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--restart", "always", "--restart-delay", "100ms", "--",
		"sh", "-c", restartingChild(dir, "sigprint -name NAME -exit USR1 -code 0 -ready READY", "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.await(readyWait, "left0 SIGTERM"); err != nil {
		t.Fatalf("the leftover never got the stop signal: %v%s", err, p.stderrNote())
	}
	if err := p.signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// hcinit's own bound (10 s from the child's exit) would have killed it.
	if err := p.running(11 * time.Second); err != nil {
		t.Fatalf("after the orchestrator's TERM: %v", err)
	}
	if err := p.signal(unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(readyWait, 1); err != nil { // the child's status
		t.Fatal(err)
	}
	all := p.out.snapshot()
	if got := leftSignals(all, "left0"); !slices.Equal(got, []string{"SIGTERM", "SIGUSR1"}) {
		t.Errorf("the leftover got %q, want [SIGTERM SIGUSR1]", got)
	}
	if hasPrefix(all, "start 1") {
		t.Errorf("restarted after the stop trigger: %q", all)
	}
}

// TestSignalDuringBackoffReusedGroup: while no child runs, a signal goes to
// what is left of the old child's process group; once that group is empty its
// id is free, and another process may lead a group of that id by then. The
// old code sent the signal to it anyway. Here the id is reused on purpose
// (ns_last_pid) by a process that joined hcinit's PID namespace, as `docker
// exec` does, and made a session of its own.
func TestSignalDuringBackoffReusedGroup(t *testing.T) {
	t.Parallel()
	needRoot(t)
	p, err := spawn(t, []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
		hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--restart", "always", "--restart-delay", "60s", "--restart-max-delay", "60s", "--",
		"sh", "-c", `echo "child $$"; exit 1`})
	if err != nil {
		t.Fatal(err)
	}
	hc, err := childOf(p.pid(), "hcinit", readyWait)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.waitStderr("restarting child", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	// The child's line comes through a pipe of its own: stderr's "restarting
	// child" can be read before it.
	var group int
	p.out.waitFor(readyWait, func(all []string) bool {
		for _, l := range all {
			fmt.Sscanf(l, "child %d", &group)
		}
		return group >= 2
	})
	if group < 2 {
		t.Fatalf("no child pid in %q", p.out.snapshot())
	}
	// The next process of the namespace gets the old group's id and leads a
	// group of its own (setsid, not forking: it is no group leader).
	out, err := nsenter(t, hc, "sh", "-c", fmt.Sprintf("echo %d > /proc/sys/kernel/ns_last_pid && setsid sigprint -name exec; :", group-1))
	if err != nil {
		t.Fatal(err)
	}
	if err := out.ready(readyWait, "exec"); err != nil {
		t.Fatal(err)
	}
	if got := out.readyPid("exec"); got != group {
		t.Skipf("the id %d was not reused (the process got %d)", group, got)
	}
	if err := unix.Kill(hc, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if err := out.await(500*time.Millisecond, "exec SIGUSR1"); err == nil { // nothing announces that a signal went nowhere
		t.Errorf("USR1 to hcinit with no child reached another process whose group took the old child's group id %d", group)
	}
	if p.exited() {
		t.Fatalf("hcinit exited on USR1%s", p.stderrNote())
	}
}
