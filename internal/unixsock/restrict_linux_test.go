package unixsock

import (
	"os"
	"path/filepath"
	"testing"
)

// TestChmodNotThroughSwappedLink: a socket swapped for a symbolic link
// between bind and chmod (by whoever may write to its directory) is not
// followed: the file the link points to keeps its mode, and Listen fails.
// Before, the chmod by path, as root, made the link's target 0660.
func TestChmodNotThroughSwappedLink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "hc.sock")
	testHookBound = func(addr string) {
		if err := os.Rename(addr, addr+".moved"); err != nil {
			t.Error(err)
		}
		if err := os.Symlink(victim, addr); err != nil {
			t.Error(err)
		}
	}
	defer func() { testHookBound = func(string) {} }()
	ln, err := Listen(sock, 0o660)
	if err == nil {
		ln.Close()
		t.Errorf("Listen went on with its socket swapped for a link")
	}
	fi, err := os.Stat(victim)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("the link's target got mode %v", fi.Mode().Perm())
	}

	// Undisturbed, the socket gets its mode.
	testHookBound = func(string) {}
	ln, err = Listen(filepath.Join(dir, "ok.sock"), 0o660)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if fi, err := os.Lstat(filepath.Join(dir, "ok.sock")); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, %v; want 0660", fi.Mode().Perm(), err)
	}
}
