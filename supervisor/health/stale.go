package health

// Files an hcinit killed with SIGKILL leaves behind (it cannot clean up):
// its v1.0.x socket /tmp/hcinit-*.sock, its notify socket
// <runtime dir>/notify-PID.sock and the child's directory
// <runtime dir>/child-PID[-<ns>]/. On hosts that run hcinit outside containers
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
// connections (nobody listens on it), a child directory whose lock nobody
// holds (see takeChildDir; for one without a tag also: its hcinit pid is
// gone and its notify socket refuses, as an hcinit from before the lock may
// still use it). It runs watchDelay after the
// start (Watch), off the path of a child that exits at once.
func (m *Monitor) reclaimStale() {
	var files []staleFile
	uid := os.Getuid()
	if m.runtimeDir != "" {
		entries, _ := os.ReadDir(m.runtimeDir)
		for _, e := range entries {
			if f, ok := m.runtimeLeftover(e.Name(), uid); ok {
				files = append(files, f)
			}
		}
	}
	matches, _ := filepath.Glob(filepath.Join(common.SocketPrefix, v1Prefix+"*.sock"))
	for _, path := range matches {
		if ownedBy(path, uid, os.ModeSocket) {
			files = append(files, staleFile{path: path, network: "unix", sock: path})
		}
	}
	dead := m.deadSockets(files)
	for _, f := range files {
		if f.sock == "" || dead[f.sock] {
			m.removeStale(f.path)
		}
		if f.lock != nil { // after the removal: nobody takes it in between
			f.lock.Close()
		}
	}
}

// staleFile is what a dead hcinit may have left: path goes if the socket sock
// (of network) is dead, at once if sock is "". A child directory's lock
// (lockDir) is held until then.
type staleFile struct {
	path, network, sock string
	lock                *os.File
}

// runtimeLeftover reports whether the runtime directory's entry name may be a
// dead hcinit's notify socket or child directory.
func (m *Monitor) runtimeLeftover(name string, uid int) (staleFile, bool) {
	path := filepath.Join(m.runtimeDir, name)
	switch {
	case m.notify != nil && path == m.notify.path: // our own
		return staleFile{}, false
	case strings.HasPrefix(name, "notify-") && strings.HasSuffix(name, ".sock"):
		return staleFile{path: path, network: "unixgram", sock: path}, ownedBy(path, uid, os.ModeSocket)
	case strings.HasPrefix(name, "child-"):
		pid, tagged, ok := childDirPID(name)
		if !ok || path == m.childDir || !ownedByAnyone(path, os.ModeDir) {
			return staleFile{}, false
		}
		lock := lockDir(path) // held until it is removed or kept
		switch {
		case lock == nil: // a live hcinit's (see takeChildDir)
			return staleFile{}, false
		case tagged: // only an hcinit that locks makes these
			return staleFile{path: path, lock: lock}, true
		case pid == os.Getpid() || alive(pid):
			// Maybe an hcinit from before the lock, alive: left to the next
			// hcinit with that pid, which takes it at start.
			lock.Close()
			return staleFile{}, false
		}
		notify := filepath.Join(m.runtimeDir, "notify-"+strconv.Itoa(pid)+".sock")
		if _, err := os.Lstat(notify); err != nil {
			return staleFile{path: path, lock: lock}, true
		}
		// An hcinit from before the lock in another pid namespace may still
		// use it.
		return staleFile{path: path, network: "unixgram", sock: notify, lock: lock}, true
	}
	return staleFile{}, false
}

// deadSockets returns the sockets of files that nobody listens on any more:
// connecting is refused. A socket between bind and listen refuses too, for a
// moment: it must refuse twice, 200 ms apart, and be the same file. One wait
// serves every socket, however many were left.
func (m *Monitor) deadSockets(files []staleFile) map[string]bool {
	network := map[string]string{}
	first := map[string]os.FileInfo{} // the sockets that refused once
	for _, f := range files {
		if f.sock == "" || network[f.sock] != "" {
			continue
		}
		network[f.sock] = f.network
		if fi, err := os.Lstat(f.sock); err == nil && refused(f.network, f.sock) {
			first[f.sock] = fi
		}
	}
	dead := map[string]bool{}
	if len(first) == 0 {
		return dead
	}
	select {
	case <-time.After(200 * time.Millisecond):
	case <-m.ctx.Done(): // stopping: leave them to the next start
		return dead
	}
	for sock, before := range first {
		after, err := os.Lstat(sock)
		dead[sock] = err == nil && os.SameFile(before, after) && refused(network[sock], sock)
	}
	return dead
}

// refused reports whether connecting to the socket at path is refused.
func refused(network, path string) bool {
	c, err := net.DialTimeout(network, path, time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
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

// alive reports whether a process pid exists in our pid namespace.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
