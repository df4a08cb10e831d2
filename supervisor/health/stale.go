package health

// Files an hcinit killed with SIGKILL leaves behind (it cannot clean up):
// its v1.0.x socket /tmp/hcinit-*.sock, its notify socket
// <runtime dir>/notify-PID.sock and the child's directory
// <runtime dir>/child-PID/. On hosts that run hcinit outside containers
// they pile up; each start reclaims those provably dead.

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
)

// reclaimStale removes what dead hcinits left, in the background of a start.
// Only sockets and directories of hcinit's own uid are touched, never
// through a symlink, and only when provably dead: a socket that refuses
// connections (nobody listens on it), a child directory whose hcinit pid is
// gone and whose notify socket refuses too.
func (m *Monitor) reclaimStale() {
	uid := os.Getuid()
	if m.runtimeDir != "" {
		entries, _ := os.ReadDir(m.runtimeDir)
		for _, e := range entries {
			m.reclaimRuntimeEntry(e.Name(), uid)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(common.SocketPrefix, v1Prefix+"*.sock"))
	for _, path := range matches {
		if ownedBy(path, uid, os.ModeSocket) && m.refuses("unix", path) {
			m.removeStale(path)
		}
	}
}

// reclaimRuntimeEntry removes the runtime directory's entry name if it is a
// dead hcinit's notify socket or child directory.
func (m *Monitor) reclaimRuntimeEntry(name string, uid int) {
	path := filepath.Join(m.runtimeDir, name)
	switch {
	case strings.HasPrefix(name, "notify-") && strings.HasSuffix(name, ".sock"):
		if ownedBy(path, uid, os.ModeSocket) && m.refuses("unixgram", path) {
			m.removeStale(path)
		}
	case strings.HasPrefix(name, "child-"):
		pid, err := strconv.Atoi(strings.TrimPrefix(name, "child-"))
		if err != nil || pid == os.Getpid() || !ownedByAnyone(path, os.ModeDir) || alive(pid) {
			return
		}
		notify := filepath.Join(m.runtimeDir, "notify-"+strconv.Itoa(pid)+".sock")
		if _, err := os.Lstat(notify); err == nil && !m.refuses("unixgram", notify) {
			return // an hcinit in another pid namespace still uses it
		}
		m.removeStale(path)
	}
}

func (m *Monitor) removeStale(path string) {
	if err := os.RemoveAll(path); err != nil {
		m.log.WithError(err).WithField("path", path).Debug("cannot remove a stale file")
		return
	}
	m.log.WithField("path", path).Debug("removed what a dead hcinit left")
}

// ownedBy reports whether path (not followed) is of type typ and owned by uid.
func ownedBy(path string, uid int, typ os.FileMode) bool {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != typ {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == uid
}

// ownedByAnyone reports whether path (not followed) is of type typ: a child
// directory is handed to the child's user, so its owner says nothing.
func ownedByAnyone(path string, typ os.FileMode) bool {
	fi, err := os.Lstat(path)
	return err == nil && fi.Mode().Type() == typ
}

// refuses reports whether connecting to the socket at path is refused:
// nobody listens there any more. A socket between bind and listen refuses
// too, for a moment: it must refuse twice, 200 ms apart, and be the same file.
func (m *Monitor) refuses(network, path string) bool {
	once := func() bool {
		c, err := net.DialTimeout(network, path, time.Second)
		if err == nil {
			c.Close()
			return false
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	}
	before, err := os.Lstat(path)
	if err != nil || !once() {
		return false
	}
	select {
	case <-time.After(200 * time.Millisecond):
	case <-m.ctx.Done(): // stopping: leave it to the next start
		return false
	}
	after, err := os.Lstat(path)
	return err == nil && os.SameFile(before, after) && once()
}

// alive reports whether a process pid exists in our pid namespace.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
