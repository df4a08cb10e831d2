package health

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRuntimeDirNotFollowedNorShared: a runtime directory that is a symbolic
// link, or that others may write to, is not used: hcinit (root, usually)
// makes its child directory and notify socket there, hands them to the
// child's user and reclaims a child-PID/ whose lock is free. Before, through
// /tmp/hcinit -> /elsewhere it removed an existing /elsewhere/child-PID
// whole (here: the victim's file is gone) and made its files there; in a
// directory writable by all, the notify socket's chmod, which follows
// symbolic links, could be raced onto any file.
func TestRuntimeDirNotFollowedNorShared(t *testing.T) {
	dir := shortDir(t)
	victim := filepath.Join(dir, "victim")
	keep := filepath.Join(victim, "child-"+strconv.Itoa(os.Getpid()), "keep")
	if err := os.MkdirAll(filepath.Dir(keep), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil { // whatever the umask
		t.Fatal(err)
	}
	for _, run := range []string{link, open} {
		h := start(t, Config{RuntimeDir: run}, nil)
		if h.runtimeDir != "" || h.childDir != "" {
			t.Errorf("runtime directory %s used (child directory %s)", run, h.childDir)
		}
		for _, e := range h.ChildEnv() {
			if strings.Contains(e, run+"/") {
				t.Errorf("child told %s", e)
			}
		}
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "data" {
		t.Errorf("the victim's %s: %q, %v", keep, b, err)
	}
	entries, _ := os.ReadDir(victim)
	if len(entries) != 1 {
		t.Errorf("hcinit wrote into the directory the link points to: %v", entries)
	}
	// A directory of hcinit's own, writable by it alone, is used.
	own := filepath.Join(dir, "own")
	if h := start(t, Config{RuntimeDir: own}, nil); h.runtimeDir != own {
		t.Errorf("own runtime directory %s not used (%q)", own, h.runtimeDir)
	}
}
