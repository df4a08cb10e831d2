package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wisdom-oss/go-healthcheck/supervisor"
)

// TestExecCheckGetsChildsHome: with --user, an exec check runs as the child's
// user with the child's HOME (the user's home directory), as Docker's
// HEALTHCHECK and a kubelet exec probe run as the container's user: a probe
// that reads ~/.my.cnf or ~/.pgpass must find the user's. The old code gave
// the probe hcinit's own HOME (/root).
func TestExecCheckGetsChildsHome(t *testing.T) {
	needRoot(t)
	t.Parallel()
	id, err := supervisor.LookupUser("nobody", "/etc/passwd", "/etc/group")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	if id.Home == "" || id.Home == os.Getenv("HOME") {
		t.Skipf("nobody's home %q does not tell it from hcinit's", id.Home)
	}
	// A working directory the probe's user may enter.
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--user", "nobody",
		"--retries", "1", "--interval", "1h",
		"--check", `exec=/bin/sh -c 'echo "HOME=$HOME"; test "$HOME" = "` + id.Home + `"',name=home`,
		"--", "sleep", "60"}, withDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.waitStderr("check=home", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	if log := p.stderr(); !strings.Contains(log, "check=home component=health state=healthy") {
		t.Errorf("the exec check did not see the child's HOME %s%s", id.Home, p.stderrNote())
	}
}
