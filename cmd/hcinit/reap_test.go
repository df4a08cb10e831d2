package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// The orphans helper makes 100 orphans, checks that its parent (the init under
// test) adopts every one, and that every one is reaped with no zombie left; it
// prints the counts and exits 1 otherwise.
const orphansWant = "orphans 100 adopted 100 reaped 100 zombies 0"

func TestOrphansAsPID1(t *testing.T) {
	t.Parallel()
	needRoot(t)
	compare(t, rowOrphansPID1, func(t *testing.T, in initProg) error {
		argv := append([]string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"},
			in.argv(nil, "orphans", "-n", "100")...)
		return orphans(t, argv)
	})
}

func TestOrphansAsSubreaper(t *testing.T) {
	t.Parallel()
	compare(t, rowOrphansSub, func(t *testing.T, in initProg) error {
		return orphans(t, in.argv(nil, "orphans", "-n", "100"))
	})
}

func orphans(t *testing.T, argv []string) error {
	p, err := spawn(t, argv)
	if err != nil {
		return err
	}
	code, err := p.exit(exitWait)
	if err != nil {
		return err
	}
	_ = p.out.await(exitWait, orphansWant) // returns at the end of the output
	if all := p.out.snapshot(); !contains(all, orphansWant) {
		return fmt.Errorf("%s", strings.Join(all, "; "))
	}
	if code != 0 {
		return fmt.Errorf("exit %d, want 0%s", code, p.stderrNote())
	}
	return nil
}

// TestWarnZombies: with -w (tini's), every orphan hcinit reaps is logged with
// its pid and status; without it, none is.
func TestWarnZombies(t *testing.T) {
	t.Parallel()
	// The subshell leaves `sh -c "exit 3"` to hcinit, the subreaper.
	script := `(sh -c "exit 3" &); exit 0`
	for _, warn := range []bool{true, false} {
		args := []string{"--socket", filepath.Join(t.TempDir(), "hc.sock"), "--", "sh", "-c", script}
		if warn {
			args = append([]string{"-w"}, args...)
		}
		_, stderr, code := runHcinit(t, nil, args...)
		if code != 0 {
			t.Errorf("-w %v: exit %d, want 0 (%s)", warn, code, stderr)
		}
		logged := strings.Contains(stderr, "reaped zombie") && strings.Contains(stderr, "exit_code=")
		if logged != warn {
			t.Errorf("-w %v: zombie logged %v: %q", warn, logged, stderr)
		}
	}
}
