package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestExecRunTokenNotSharedWithNestedHcinit: an hcinit that is PID 1 of a
// pid namespace nested in another hcinit's (docker-in-docker, kind, a CI
// runner's containers) numbers its exec probe runs as the outer one does,
// and the outer one sees the inner processes in its /proc. When an outer run
// ended, it killed every process carrying its run's token, the inner probe
// included: the inner check failed with 137 though its probe would have
// passed. The outer check here ends its first run right after the inner's
// first probe started; that probe must be left alone.
func TestExecRunTokenNotSharedWithNestedHcinit(t *testing.T) {
	needRoot(t)
	t.Parallel()
	dir := t.TempDir()
	started := filepath.Join(dir, "inner-started")
	p, err := spawn(t, []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
		hcinitBin(), "--socket", filepath.Join(dir, "outer.sock"), "--interval", "1h", "--timeout", "30s",
		"--check", "exec=/bin/sh -c 'until [ -e " + started + " ]; do sleep 0.02; done',name=outer",
		"--", "unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
		hcinitBin(), "--socket", filepath.Join(dir, "inner.sock"), "--interval", "1h", "--timeout", "30s", "--retries", "1",
		"--check", "exec=/bin/sh -c 'touch " + started + "; sleep 1',name=inner",
		"--", "sleep", "60"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.waitStderr("check=outer", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	if err := p.waitStderr("check=inner", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(p.stderr(), "\n") {
		if strings.Contains(l, "check=inner") && !strings.Contains(l, "state=healthy") {
			t.Errorf("the inner hcinit's probe was disturbed: %s%s", l, p.stderrNote())
		}
	}
}
