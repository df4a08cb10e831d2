package health

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An exec check that cannot start fails with the status a shell, Docker and
// hcinit's own child report: 127 when the command is not found, 126 when it
// cannot be executed. The old exec check looked the command up with
// exec.LookPath and called a non-executable file in PATH 127, and a path
// through a file (ENOTDIR) 126: the other way round from the child.
func TestExecCheckStartFailures(t *testing.T) {
	r := startReaper(t)
	dir := t.TempDir()
	noexec := filepath.Join(dir, "hc-noexec-probe")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	for _, tc := range []struct {
		name string
		argv []string
		want int
	}{
		{"not executable, found in PATH", []string{"hc-noexec-probe"}, 126},
		{"not executable, by path", []string{noexec}, 126},
		{"a directory", []string{dir}, 126},
		{"not in PATH", []string{"hc-no-such-probe"}, 127},
		{"missing path", []string{filepath.Join(dir, "missing")}, 127},
		{"a path through a file", []string{noexec + "/x"}, 127},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := execChecker{argv: tc.argv, reaper: r, log: testLogger(t).WithField("component", "health")}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			o := c.Check(ctx)
			if o.code != tc.want || !strings.Contains(o.output, tc.argv[0]) {
				t.Errorf("code %d %q, want %d and a message naming %s", o.code, o.output, tc.want, tc.argv[0])
			}
		})
	}
}
