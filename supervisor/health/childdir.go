package health

// The child's directory <runtime dir>/child-PID/ (HEALTHCHECK_SOCKET_DIR,
// where a child linking the server package makes its socket). Its name does
// not make it ours: hcinits that are each PID 1 of their own pid namespace
// and share the runtime directory (a shared mount, parallel tests on one
// host sharing /run/hcinit) all want child-1/. So an hcinit holds an flock on
// its directory for its whole life. A directory whose lock is held is a live
// hcinit's; one whose lock is free was left by a dead one (the kernel drops
// the lock with the last descriptor, SIGKILL included) and may be reclaimed.
// flock(2) is on the inode, so it works across pid namespaces.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// takeChildDir makes the child's directory in runtimeDir and returns it with
// its lock, held until release: child-PID/, or child-PID-<ns>/ when
// child-PID/ is a live hcinit's (as the notify socket does since d5f8be9).
// A child-PID/ whose lock is free was left by an earlier hcinit with our pid:
// it is removed and made afresh.
func takeChildDir(runtimeDir string) (string, *os.File, error) {
	base := filepath.Join(runtimeDir, "child-"+strconv.Itoa(os.Getpid()))
	path := base
	for range 4 {
		err := os.Mkdir(path, 0o700)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return "", nil, err
		}
		lock := lockDir(path)
		switch {
		case lock != nil && err == nil:
			return path, lock, nil
		case lock != nil && path == base && os.RemoveAll(path) == nil:
			lock.Close() // after the removal: nobody takes it in between
			continue     // make it afresh
		case lock != nil:
			lock.Close()
		}
		// Live: another hcinit's (or taken between our mkdir and lock).
		path = fmt.Sprintf("%s-%d", base, time.Now().UnixNano())
	}
	return "", nil, errors.New("no child directory of our own")
}

// lockDir opens the directory path (not through a symlink) and takes its
// lock without waiting. It returns nil when the lock is another's or path no
// longer names what was locked (removed meanwhile by a reclaimer).
func lockDir(path string) *os.File {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), path)
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		f.Close()
		return nil
	}
	held, err1 := f.Stat()
	now, err2 := os.Lstat(path)
	if err1 != nil || err2 != nil || !os.SameFile(held, now) {
		f.Close()
		return nil
	}
	return f
}

// childDirPID parses a child directory's name: child-PID, or child-PID-<ns>
// (tagged) for one made beside a live child-PID.
func childDirPID(name string) (pid int, tagged, ok bool) {
	rest, found := strings.CutPrefix(name, "child-")
	if !found {
		return 0, false, false
	}
	p, tag, tagged := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return 0, false, false
	}
	if tagged {
		if _, err := strconv.ParseUint(tag, 10, 64); err != nil {
			return 0, false, false
		}
	}
	return pid, tagged, true
}
