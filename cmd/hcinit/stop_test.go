package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// stopFlags is hcinit's --stop-timeout; the peers have no grace to set.
func stopFlags(in initProg, grace string) []string {
	if in.hcinit {
		return []string{"--stop-timeout", grace}
	}
	return nil
}

// With --stop-timeout (opt-in: by default the grace is the orchestrator's), a
// child that prints TERM and goes on is killed when the grace is over: not
// before (the grace is the child's), and not much after. The peers have no
// such option.
func TestStopGraceKill(t *testing.T) {
	t.Parallel()
	compare(t, rowGrace, func(t *testing.T, in initProg) error {
		if !in.hcinit {
			return na("no grace option")
		}
		p, err := startReady(t, in.argv(stopFlags(in, "1s"), "sigprint"))
		if err != nil {
			return err
		}
		sent := time.Now()
		if err := p.signal(unix.SIGTERM); err != nil {
			return err
		}
		if err := p.out.await(sigWait, "child SIGTERM"); err != nil {
			return err
		}
		code, err := p.exit(4 * time.Second)
		if err != nil {
			return fmt.Errorf("TERM-ignoring child: %v", err)
		}
		if code != 137 {
			return fmt.Errorf("exit %d, want 137", code)
		}
		if took := p.ended.Sub(sent); took < 900*time.Millisecond {
			return fmt.Errorf("killed %s after TERM, inside the 1s grace", took.Round(time.Millisecond))
		}
		return nil
	})
}

// A child that exits on TERM ends the init at once: the grace is an upper bound.
func TestStopPrompt(t *testing.T) {
	t.Parallel()
	compare(t, rowPrompt, func(t *testing.T, in initProg) error {
		p, err := startReady(t, in.argv(stopFlags(in, "5s"), "sigprint", "-exit", "SIGTERM"))
		if err != nil {
			return err
		}
		if err := p.signal(unix.SIGTERM); err != nil {
			return err
		}
		// 3 s is a bound well inside the 5 s grace, not a benchmark.
		if err := p.expectExit(3*time.Second, 0); err != nil {
			return fmt.Errorf("prompt child, grace 5s: %v", err)
		}
		return nil
	})
}

// tini#180, dumb-init#212: the main child exits on TERM at once, a background
// process of its group needs a second to shut down and then writes a file. The
// init must not exit before that file exists.
func TestStopWaitsForBackground(t *testing.T) {
	t.Parallel()
	compare(t, rowBackground, func(t *testing.T, in initProg) error {
		mode, err := in.mode(true) // the background process must get TERM too
		if err != nil {
			return err
		}
		done := filepath.Join(t.TempDir(), "background-done")
		p, err := spawn(t, in.argv(append(mode, stopFlags(in, "5s")...), "sh", "-c",
			"sigprint -name background -exit SIGTERM -linger 1s -touch "+done+
				" & exec sigprint -name child -exit SIGTERM"))
		if err != nil {
			return err
		}
		if err := p.out.ready(readyWait, "child", "background"); err != nil {
			return err
		}
		if err := p.signal(unix.SIGTERM); err != nil {
			return err
		}
		code, err := p.exit(exitWait)
		_, statErr := os.Stat(done) // at once: the background process may finish any moment
		if err != nil {
			return err
		}
		if statErr != nil {
			return errors.New("exited while the background process was still shutting down")
		}
		if code != 0 {
			return fmt.Errorf("exit %d, want 0", code)
		}
		return nil
	})
}

// A second TERM during the grace is the operator insisting: kill now.
func TestStopSecondTerm(t *testing.T) {
	t.Parallel()
	compare(t, rowSecondTerm, func(t *testing.T, in initProg) error {
		p, err := startReady(t, in.argv(stopFlags(in, "30s"), "sigprint"))
		if err != nil {
			return err
		}
		if err := p.signal(unix.SIGTERM); err != nil {
			return err
		}
		if err := p.out.await(sigWait, "child SIGTERM"); err != nil {
			return err
		}
		if err := p.signal(unix.SIGTERM); err != nil {
			return err
		}
		if err := p.expectExit(3*time.Second, 137); err != nil {
			return fmt.Errorf("after a second TERM: %v", err)
		}
		return nil
	})
}

// HCINIT_STOP_TIMEOUT sets the grace; an explicit --stop-timeout wins over it.
func TestStopTimeoutEnv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		env   string
		flags []string
	}{
		{"env", "HCINIT_STOP_TIMEOUT=300ms", nil},
		{"flag wins", "HCINIT_STOP_TIMEOUT=30s", []string{"--stop-timeout", "300ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			argv := append(append([]string{filepath.Join(binDir, "hcinit")}, tc.flags...), "--", "sigprint")
			p, err := spawn(t, argv, withEnv(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if err := p.out.ready(readyWait, "child"); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			if err := p.signal(unix.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := p.expectExit(3*time.Second, 137); err != nil {
				t.Fatalf("grace 300ms: %v", err)
			}
			if took := p.ended.Sub(sent); took < 250*time.Millisecond {
				t.Errorf("killed %s after TERM, inside the 300ms grace", took.Round(time.Millisecond))
			}
		})
	}
}

// QUIT is the workload's signal (a JVM prints a thread dump and runs on):
// forwarded, and nothing else happens. The child gets two QUITs and then USR1
// (so it is still there), never a SIGCONT (the mark of a stop sequence); under
// hcinit readiness stays true throughout. TERM then stops it as usual.
func TestStopQUITOnlyForwarded(t *testing.T) {
	t.Parallel()
	compare(t, rowQuit, func(t *testing.T, in initProg) error {
		var flags []string
		sock := ""
		if in.hcinit {
			sock = filepath.Join(t.TempDir(), "hc.sock")
			flags = []string{"--socket", sock, "--interval", "300ms"}
		}
		p, err := startReady(t, in.argv(flags, "sigprint", "-exit", "SIGTERM"))
		if err != nil {
			return err
		}
		if in.hcinit {
			if _, err := waitStatus(sock, readyWait, "ready before QUIT", func(st health.Status) bool { return st.Ready }); err != nil {
				return err
			}
		}
		if err := p.signal(unix.SIGQUIT); err != nil {
			return err
		}
		if err := p.out.await(sigWait, "child SIGQUIT"); err != nil {
			return err
		}
		// One signal at a time, each once the previous one arrived: two sent
		// at once may reach a multi-threaded Go process (the init, the child)
		// in either order, and the order below is asserted.
		if err := p.signal(unix.SIGQUIT); err != nil {
			return err
		}
		if err := p.out.awaitCount(sigWait, "child SIGQUIT", 2); err != nil {
			if p.exited() {
				code, _ := p.exit(0)
				return fmt.Errorf("a second QUIT ended the init (exit %d)", code)
			}
			return fmt.Errorf("second QUIT: %v", err)
		}
		if err := p.signal(unix.SIGUSR1); err != nil {
			return err
		}
		if err := p.out.await(sigWait, "child SIGUSR1"); err != nil {
			if p.exited() {
				code, _ := p.exit(0)
				return fmt.Errorf("the init exited after a second QUIT (exit %d)", code)
			}
			return err
		}
		if have := signalsOf(p.out.snapshot(), "child"); !slices.Equal(have, []string{"SIGQUIT", "SIGQUIT", "SIGUSR1"}) {
			return fmt.Errorf("child got %v, want [SIGQUIT SIGQUIT SIGUSR1]", have)
		}
		if in.hcinit {
			st, err := status(sock)
			if err != nil {
				return err
			}
			if !st.Ready || !st.Live || st.Overall != health.StatusHealthy {
				return fmt.Errorf("after QUIT: status %s, live %t, ready %t (%s); want healthy, live, ready", st.Overall, st.Live, st.Ready, st.ReadyReason)
			}
		}
		if err := p.signal(unix.SIGTERM); err != nil {
			return err
		}
		return p.expectExit(exitWait, 0)
	})
}

// The grace belongs to the orchestrator (docker stop -t 30, Kubernetes'
// terminationGracePeriodSeconds): a child that needs 10 s to shut down, longer
// than any default an init could pick, finishes and the init exits 0 after it.
// No grace option is given.
func TestStopLongGrace(t *testing.T) {
	t.Parallel()
	compare(t, rowLongGrace, func(t *testing.T, in initProg) error {
		const shutdown = 10 * time.Second
		done := filepath.Join(t.TempDir(), "done")
		p, err := startReady(t, in.argv(nil, "sigprint", "-exit", "SIGTERM", "-linger", shutdown.String(), "-touch", done))
		if err != nil {
			return err
		}
		sent := time.Now()
		if err := p.signal(unix.SIGTERM); err != nil {
			return err
		}
		if err := p.expectExit(shutdown+20*time.Second, 0); err != nil {
			return fmt.Errorf("child shutting down for %s: %v (after %s)", shutdown, err, time.Since(sent).Round(100*time.Millisecond))
		}
		if _, err := os.Stat(done); err != nil {
			return errors.New("exited before the child finished its shutdown")
		}
		return nil
	})
}

// --stop-triggers names the signals that start the stop sequence (an image
// whose STOPSIGNAL is QUIT, as nginx's): then QUIT stops, and a second QUIT
// kills at once. A signal left out of the list is only forwarded.
func TestStopTriggers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		env   []string
		flags []string
	}{
		{"option", nil, []string{"--stop-triggers", "TERM,INT,QUIT"}},
		{"env", []string{"HCINIT_STOP_TRIGGERS=quit,SIGTERM"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sock := filepath.Join(t.TempDir(), "hc.sock")
			argv := append(append([]string{hcinitBin(), "--socket", sock}, tc.flags...), "--", "sigprint")
			p, err := spawn(t, argv, withEnv(tc.env...))
			if err != nil {
				t.Fatal(err)
			}
			if err := p.out.ready(readyWait, "child"); err != nil {
				t.Fatal(err)
			}
			if err := p.signal(unix.SIGQUIT); err != nil {
				t.Fatal(err)
			}
			// The stop sequence: QUIT, then SIGCONT (a stopped child must see it).
			if err := p.out.await(sigWait, "child SIGQUIT", "child SIGCONT"); err != nil {
				t.Fatal(err)
			}
			if _, err := waitStatus(sock, readyWait, "not ready while stopping", func(st health.Status) bool { return !st.Ready }); err != nil {
				t.Fatal(err)
			}
			if err := p.signal(unix.SIGQUIT); err != nil {
				t.Fatal(err)
			}
			if err := p.expectExit(exitWait, 137); err != nil {
				t.Fatalf("second QUIT: %v", err)
			}
		})
	}
	t.Run("INT only", func(t *testing.T) {
		t.Parallel()
		p, err := spawn(t, []string{hcinitBin(), "--stop-triggers", "INT", "--", "sigprint", "-exit", "SIGINT", "-code", "3"})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.out.ready(readyWait, "child"); err != nil {
			t.Fatal(err)
		}
		// TERM is not a trigger here: forwarded, nothing more (a second one too).
		for range 2 {
			if err := p.signal(unix.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.signal(unix.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		if err := p.out.await(sigWait, "child SIGTERM", "child SIGUSR1"); err != nil {
			t.Fatal(err)
		}
		if contains(p.out.snapshot(), "child SIGCONT") {
			t.Error("TERM started a stop sequence (SIGCONT sent)")
		}
		if err := p.signal(unix.SIGINT); err != nil {
			t.Fatal(err)
		}
		if err := p.expectExit(exitWait, 3); err != nil {
			t.Fatal(err)
		}
	})
}

// --on-unhealthy restart is hcinit's own decision, with no orchestrator's grace
// behind it: without --stop-timeout a child that ignores the stop signal is
// still killed (after 10 s, docker stop's default) and started again.
func TestUnhealthyRestartOwnGrace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	starts := filepath.Join(dir, "starts")
	ready := filepath.Join(dir, "ready")
	// The first probe runs at once: the check fails only once sigprint has
	// its handlers (its -ready file exists), so the TERM finds them.
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"),
		"--on-unhealthy", "restart", "--check", "exec=/usr/bin/test,arg=!,arg=-e,arg=" + ready, "--interval", "300ms", "--retries", "1",
		"--restart-delay", "0.2", "--",
		"sh", "-c", "rm -f " + ready + "; echo start >> " + starts + "; exec sigprint -ready " + ready})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.await(readyWait+sigWait, "child SIGTERM"); err != nil {
		t.Fatal(err)
	}
	termAt := time.Now()
	deadline := termAt.Add(30 * time.Second)
	for lineCount(starts) < 2 {
		if time.Now().After(deadline) || p.exited() {
			t.Fatalf("the TERM-ignoring child was not restarted within 30s (hcinit exited: %v)%s", p.exited(), p.stderrNote())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if took := time.Since(termAt); took < 9*time.Second {
		t.Errorf("killed %s after its stop signal, inside the 10s grace", took.Round(100*time.Millisecond))
	}
}
