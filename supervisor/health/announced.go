package health

// What the child announces (name files, the sockets they name) is read and
// dialled by hcinit, usually root, on the child's word. A child running as
// another user could point that word at what only root may read or dial (a
// symlink to /etc/shadow as its name file, to a root-only socket as its
// socket) and read the answer back through `hcinit status`: a confused
// deputy. So hcinit never follows a symlink there, and when the child runs
// as another user, it only believes files and sockets the child owns.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/common"
)

// childOwner is the uid the child's announced files must belong to; -1 when
// there is no boundary to keep (the child runs as hcinit's user, or its user
// is unknown).
func (m *Monitor) childOwner() int {
	uid := -1
	if cred := m.childCred(); cred != nil {
		uid = int(cred.Uid)
	}
	if uid < 0 || uid == os.Getuid() {
		return -1
	}
	return uid
}

// refusal is a file or socket hcinit will not use for the child: logged as a
// warning, unlike a name file that is merely not written yet.
type refusal struct{ error }

func (r refusal) Unwrap() error { return r.error }

// checkOwned fails unless st is of type kind and, when owner >= 0, owned by
// owner.
func checkOwned(path string, st *unix.Stat_t, kind uint32, what string, owner int) error {
	if st.Mode&unix.S_IFMT != kind {
		return refusal{fmt.Errorf("%s is not a %s: not used", path, what)}
	}
	if owner >= 0 && int(st.Uid) != owner {
		return refusal{fmt.Errorf("%s is owned by uid %d, not by the child's uid %d: not used", path, st.Uid, owner)}
	}
	return nil
}

// readNameFile reads a name file the child announces: never through a
// symlink, only a regular file (a FIFO would block), and only one owned by
// owner (the child's uid when it runs as another user, else -1: any), or,
// for ours (the .hc-socket hcinit wrote, not yet handed to the child), by
// hcinit's uid.
func readNameFile(path string, owner int, ours string) (string, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ELOOP) {
		return "", refusal{fmt.Errorf("name file %s is a symbolic link: not followed", path)}
	}
	if err != nil {
		return "", fmt.Errorf("read name file: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", fmt.Errorf("read name file %s: %w", path, err)
	}
	if path == ours && int(st.Uid) == os.Getuid() {
		owner = -1 // the .hc-socket hcinit wrote, not yet handed to the child
	}
	if err := checkOwned(path, &st, unix.S_IFREG, "regular file", owner); err != nil {
		return "", refusal{fmt.Errorf("name file %w", err)}
	}
	data, err := io.ReadAll(io.LimitReader(f, common.BufferSize+1))
	if err != nil {
		return "", fmt.Errorf("read name file %s: %w", path, err)
	}
	name, err := common.ParseName(data)
	if err != nil {
		return "", fmt.Errorf("read name file %s: %w", path, err)
	}
	return name, nil
}

// openAnnounced opens the socket at path without following a symlink and
// checks it is a socket the child owns. The caller dials the returned
// address, /proc/self/fd/N of the descriptor, which reaches that very
// socket whatever happens to path meanwhile, and then calls release. Without
// /proc the path itself is returned (the check and the dial are then not
// atomic).
func (m *Monitor) openAnnounced(path string) (addr string, release func(), err error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return "", nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if err := checkOwned(path, &st, unix.S_IFSOCK, "socket (a symbolic link is not followed)", m.childOwner()); err != nil {
		unix.Close(fd)
		return "", nil, err
	}
	addr = "/proc/self/fd/" + strconv.Itoa(fd)
	if _, err := os.Stat(addr); err != nil {
		addr = path
	}
	return addr, func() { unix.Close(fd) }, nil
}
