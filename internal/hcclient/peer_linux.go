package hcclient

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// wellKnown is hcinit's legacy abstract socket; only Linux has the abstract
// namespace.
const wellKnown = "@hcinit"

// HcinitSockets lists where hcinit listens when not told otherwise, in the
// order a client tries them: three file sockets (in the mount namespace, so
// in the container), then the abstract sockets (in the network namespace,
// which the containers of a pod and `docker run --network container:X`
// share): one named after this container's mount namespace, so two hcinits
// sharing a network namespace each have one of their own, and the legacy
// @hcinit. A client believes none of them without VerifyPeer.
func HcinitSockets() []string {
	out := []string{"/run/hcinit.sock", "/tmp/hcinit.sock", "/dev/shm/hcinit.sock"}
	if a := scopedAbstract(); a != "" {
		out = append(out, a)
	}
	return append(out, wellKnown)
}

// scopedAbstract is "@hcinit.mnt-INODE", INODE being this process's mount
// namespace's; "" when /proc cannot tell.
func scopedAbstract() string {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/mnt", &st); err != nil {
		return ""
	}
	return "@hcinit.mnt-" + strconv.FormatUint(st.Ino, 10)
}

// ErrForeign marks a server that is not provably in the client's container.
var ErrForeign = errors.New("not this container's server")

// VerifyPeer proves that the server at the other end of conn (a unix socket)
// runs in the caller's container: the kernel must show its process in the
// caller's pid namespace (SO_PEERCRED's pid is not 0) and it must share the
// caller's mount namespace — /proc/PID/ns/mnt is the same file, or, when a
// non-root caller may not look at another user's namespaces (ptrace access),
// /proc/PID/mountinfo lists the same mounts (mount IDs belong to one mount
// namespace each). An abstract socket is shared by every container of a
// network namespace; a file socket by whoever shares the directory. The error
// wraps ErrForeign, or says why the question cannot be answered.
func VerifyPeer(conn net.Conn) error {
	return verifyCred(conn, func(cred *unix.Ucred) error { return verifyPid(int(cred.Pid)) })
}

// verifyAskPeer is VerifyPeer for hcinit check and status, with
// verifyServer's rule on the host.
func verifyAskPeer(conn net.Conn) error {
	return verifyCred(conn, verifyServer)
}

// verifyCred applies verify to the SO_PEERCRED of conn, when it is a unix
// socket (other connections are not asked).
func verifyCred(conn net.Conn, verify func(*unix.Ucred) error) error {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil
	}
	cred, err := ucred(uc)
	if err != nil {
		return fmt.Errorf("verify server: SO_PEERCRED: %w", err)
	}
	return verify(cred)
}

// verifyServer vets the server hcinit check or status reached (its
// SO_PEERCRED): it must be in the caller's container (verifyPid). On the host,
// the initial pid namespace, that is every local process: any user may bind
// /tmp/hcinit.sock, /dev/shm/hcinit.sock or @hcinit before hcinit does, or
// while none runs. There a server is believed only when it runs as root or as
// the caller.
func verifyServer(cred *unix.Ucred) error {
	if err := verifyPid(int(cred.Pid)); err != nil {
		return err
	}
	if uid := int(cred.Uid); uid != 0 && uid != os.Geteuid() && hostPidNS() {
		return fmt.Errorf("%w: on the host, its process (pid %d) runs as uid %d, neither root nor the caller", ErrForeign, cred.Pid, uid)
	}
	return nil
}

func ucred(uc *net.UnixConn) (*unix.Ucred, error) {
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, cerr
}

// PeerPid is the server's pid as this pid namespace numbers it; 0 when it is
// not in it, -1 when unknown.
func PeerPid(conn net.Conn) int {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return -1
	}
	cred, err := ucred(uc)
	if err != nil {
		return -1
	}
	return int(cred.Pid)
}

func verifyPid(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("%w: its process is not in this pid namespace (another container's)", ErrForeign)
	}
	// /proc must be this pid namespace's, or its numbers name other processes.
	if self, err := os.Readlink("/proc/self"); err != nil || self != strconv.Itoa(os.Getpid()) {
		return fmt.Errorf("cannot verify the server (pid %d): /proc is not mounted for this pid namespace", pid)
	}
	var mine, theirs unix.Stat_t
	if err := unix.Stat("/proc/self/ns/mnt", &mine); err != nil {
		return fmt.Errorf("cannot verify the server (pid %d): %w", pid, err)
	}
	err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/mnt", &theirs)
	switch {
	case err == nil:
		if mine.Dev != theirs.Dev || mine.Ino != theirs.Ino {
			return fmt.Errorf("%w: pid %d is in another mount namespace (another container's)", ErrForeign, pid)
		}
		return nil
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ESRCH):
		return hiddenOrGone(pid)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return sameMounts(pid)
	}
	return fmt.Errorf("cannot verify the server (pid %d): %w", pid, err)
}

// hiddenOrGone explains a pid that /proc does not show.
func hiddenOrGone(pid int) error {
	// Its /proc directory is there, only its namespace links are gone: an
	// exiting process (a zombie; a container's PID 1 dying while an exec
	// probe, started just before, asks it). hidepid hides the directory.
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		return fmt.Errorf("cannot verify the server: its process %d is exiting", pid)
	}
	if kerr := unix.Kill(pid, 0); kerr == nil || errors.Is(kerr, unix.EPERM) {
		return fmt.Errorf("cannot verify the server: /proc does not show pid %d (mounted with hidepid?)", pid)
	}
	return fmt.Errorf("%w: its process %d is gone (the socket was handed on)", ErrForeign, pid)
}

// sameMounts verifies another user's process: its namespace links need
// ptrace access, its mount table does not. Both must see the same mount at
// "/": a mount belongs to one namespace (a new namespace copies every mount
// under a new id), and while ours is mounted its id names no other. The rest
// of the table is not compared: a host or a node mounts and unmounts all the
// time (Docker, containerd, the kubelet), and the two tables are read one
// after the other.
func sameMounts(pid int) error {
	a, err := rootMountIDs("/proc/self/mountinfo")
	if err != nil {
		return fmt.Errorf("cannot verify the server (pid %d): %w", pid, err)
	}
	b, err := rootMountIDs("/proc/" + strconv.Itoa(pid) + "/mountinfo")
	if err != nil {
		return fmt.Errorf("cannot verify the server (pid %d, another user's): %w", pid, err)
	}
	if len(a) == 0 || !bytes.Equal(a, b) {
		return fmt.Errorf("%w: pid %d sees other mounts (another container's)", ErrForeign, pid)
	}
	return nil
}

// rootMountIDs is the mount id (the first field) of every line of a mountinfo
// file whose mount point (the fifth) is "/", in order.
func rootMountIDs(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ids []byte
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		f := bytes.SplitN(line, []byte{' '}, 6)
		if len(f) == 6 && string(f[4]) == "/" {
			ids = append(append(ids, f[0]...), ' ')
		}
	}
	return ids, nil
}

// hostPidNS reports whether the caller is in the initial pid namespace (no
// container's): its inode is fixed (PROC_PID_INIT_INO, include/linux/proc_ns.h).
func hostPidNS() bool {
	var st unix.Stat_t
	return unix.Stat("/proc/self/ns/pid", &st) == nil && st.Ino == 0xEFFFFFFC
}
