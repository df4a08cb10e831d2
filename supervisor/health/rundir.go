package health

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// errForeignDir marks a runtime directory of another user's: not hostile by
// itself (another container's hcinit sharing /dev/shm), only not ours.
var errForeignDir = errors.New("owned by another user")

// ownDir vets a runtime directory before hcinit makes its child directory and
// notify socket there, as root maybe, and hands them to the child: it must be
// a directory itself, not a symbolic link to one (hcinit would create, chown
// and reclaim child-PID/ wherever it points, removing a directory of that
// name there), owned by hcinit's user and writable by no one else (who could
// swap the notify socket for a symbolic link between its bind and its chmod,
// which follows it).
func ownDir(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link: not followed", path)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s: %w (uid %d)", path, errForeignDir, st.Uid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by others (mode %#o)", path, fi.Mode().Perm())
	}
	return nil
}
