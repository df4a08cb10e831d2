package main

// NOTIFY_SOCKET: the socket hcinit gives the child.

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestInheritedNotifySocketReplaced: hcinit started under podman --sdnotify or
// a systemd unit inherits NOTIFY_SOCKET. Its child must see hcinit's, once:
// with two entries glibc and Go read the first, the outer one.
func TestInheritedNotifySocketReplaced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--", "/usr/bin/env"},
		withEnv("NOTIFY_SOCKET=/outer/sock", "HEALTHCHECK_NAME_FILE=/outer/x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.out.closed(exitWait); err != nil {
		t.Fatal(err)
	}
	env := p.out.snapshot()
	for _, tc := range []struct{ key, outer string }{
		{"NOTIFY_SOCKET", "/outer/sock"},
		{"HEALTHCHECK_NAME_FILE", "/outer/x"},
	} {
		var have []string
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, tc.key+"="); ok {
				have = append(have, v)
			}
		}
		switch {
		case len(have) != 1:
			t.Errorf("%s: %d entries %q, want exactly one", tc.key, len(have), have)
		case have[0] == tc.outer:
			t.Errorf("%s=%s: the inherited value, want hcinit's", tc.key, have[0])
		}
	}
}
