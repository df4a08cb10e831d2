package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// stopFlags is hcinit's --stop-timeout; the peers have no grace to set.
func stopFlags(in initProg, grace string) []string {
	if in.hcinit {
		return []string{"--stop-timeout", grace}
	}
	return nil
}

// A child that prints TERM and goes on is killed when the grace is over: not
// before (the grace is the child's), and not much after.
func TestStopGraceKill(t *testing.T) {
	t.Parallel()
	compare(t, rowGrace, func(t *testing.T, in initProg) error {
		p, err := spawn(t, in.argv(stopFlags(in, "1s"), "sigprint"))
		if err != nil {
			return err
		}
		if err := p.out.ready(readyWait, "child"); err != nil {
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
		p, err := spawn(t, in.argv(stopFlags(in, "5s"), "sigprint", "-exit", "SIGTERM"))
		if err != nil {
			return err
		}
		if err := p.out.ready(readyWait, "child"); err != nil {
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
		p, err := spawn(t, in.argv(stopFlags(in, "30s"), "sigprint"))
		if err != nil {
			return err
		}
		if err := p.out.ready(readyWait, "child"); err != nil {
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
