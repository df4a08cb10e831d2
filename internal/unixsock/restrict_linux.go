package unixsock

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// restrict gives the socket file at path mode without following a symbolic
// link: whoever may write to its directory could swap the socket for a link
// (to /etc/passwd, say) between bind and chmod, and a chmod by path, as root,
// would follow it. The file is opened O_PATH|O_NOFOLLOW, must still be a
// socket, and is changed through its /proc/self/fd link; without /proc, by
// path.
func restrict(path string, mode fs.FileMode) error {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return fmt.Errorf("%s is no longer the socket just bound", path)
	}
	err = unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), uint32(mode.Perm()))
	if errors.Is(err, unix.ENOENT) { // no /proc
		return os.Chmod(path, mode)
	}
	if err != nil {
		return &fs.PathError{Op: "chmod", Path: path, Err: err}
	}
	return nil
}
