package reaper_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// LookPath searches the PATH of the environment it is given (the child's, not
// hcinit's), skips a file without execute permission for a later executable
// one, and reports it (126) only when nothing executable follows.
func TestLookPath(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for path, mode := range map[string]os.FileMode{
		filepath.Join(a, "both"): 0o644, filepath.Join(b, "both"): 0o755,
		filepath.Join(a, "noexec"): 0o644, filepath.Join(b, "exec"): 0o755,
	} {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"HOME=/", "PATH=" + a + ":" + b}
	for _, tc := range []struct {
		name string
		env  []string
		path string // want this path, or code
		code int
	}{
		{"both", env, filepath.Join(b, "both"), 0},
		{"exec", env, filepath.Join(b, "exec"), 0},
		{"noexec", env, "", 126},
		{"missing", env, "", 127},
		{"exec", []string{"HOME=/"}, "", 127}, // the default PATH, not hcinit's
		{"sh", []string{"HOME=/"}, "/usr/local/sbin/sh|/usr/local/bin/sh|/usr/sbin/sh|/usr/bin/sh|/sbin/sh|/bin/sh", 0},
		{"./relative/name", env, "./relative/name", 0},
	} {
		got, err := reaper.LookPath(tc.name, tc.env)
		var ee *reaper.ExecError
		switch {
		case tc.code != 0:
			if !errors.As(err, &ee) || ee.Code != tc.code {
				t.Errorf("%s: %q, %v; want exit code %d", tc.name, got, err, tc.code)
			}
		case err != nil || !inList(got, tc.path):
			t.Errorf("%s: %q, %v; want %s", tc.name, got, err, tc.path)
		}
	}
}

// inList reports whether s is one of the |-separated alternatives.
func inList(s, alternatives string) bool { return slices.Contains(strings.Split(alternatives, "|"), s) }

// Exec's errors carry the status a shell reports: 127 for a file that does
// not exist, 126 for one that cannot be executed.
func TestExecStatus(t *testing.T) {
	r := reaper.New(nil)
	running(t, r)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		code int
	}{
		{filepath.Join(dir, "missing"), 127},
		{file + "/x", 127}, // ENOTDIR
		{file, 126},
		{dir, 126},
	} {
		_, _, err := r.Exec(tc.path, []string{tc.path}, &syscall.ProcAttr{})
		var ee *reaper.ExecError
		if !errors.As(err, &ee) || ee.Code != tc.code || ee.Path != tc.path {
			t.Errorf("%s: %v, want an ExecError with %d naming the path", tc.path, err, tc.code)
		}
	}
	pid, exited, err := r.Exec("true", []string{"true"}, &syscall.ProcAttr{Env: []string{"PATH=/usr/bin:/bin"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := await(t, exited); e.Pid != pid || e.Code() != 0 {
		t.Errorf("true: %+v, want pid %d exit 0", e, pid)
	}
}

// A command that forks but cannot be executed (exec format error) is no
// orphan: syscall.ForkExec reaps its child itself, and the reaper, waiting for
// another child meanwhile, must not take that exit first and report it (-w's
// "reaped zombie", hcinit_zombies_reaped_total) for every run of a
// misconfigured exec check.
func TestFailedExecIsNoOrphan(t *testing.T) {
	r, unclaimed := countingReaper(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	// A child that runs throughout: the reaper waits for it in waitid.
	_, ch, err := r.Start(func() (int, error) {
		return syscall.ForkExec("/bin/sh", []string{"sh", "-c", "read x"}, &syscall.ProcAttr{Files: []uintptr{pr.Fd(), 1, 2}})
	})
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "badelf")
	if err := os.WriteFile(bad, []byte("\x7fELF not really"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		var ee *reaper.ExecError
		if _, _, err := r.Exec(bad, []string{bad}, &syscall.ProcAttr{}); !errors.As(err, &ee) || ee.Code != 126 {
			t.Fatalf("run %d: %v, want a 126", i, err)
		}
	}
	pw.Close()
	select {
	case <-ch:
	case <-time.After(wait):
		t.Fatal("the long child's exit was not delivered")
	}
	if n := unclaimed.Load(); n != 0 {
		t.Errorf("%d failed execs reaped as orphans, want 0", n)
	}
}
