package unixsock

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// listenNet is what listenUnix replaces.
func listenNet(addr string) (*net.UnixListener, error) {
	return net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
}

// TestListenUnixIsNets: listenUnix's listener is net.ListenUnix's, for a file
// and an abstract address: the same address, the same backlog, connections
// accepted, the file removed on Close; and its errors read the same.
func TestListenUnixIsNets(t *testing.T) {
	dir := t.TempDir()
	abstract := "@hc-unixsock-test-" + strconv.Itoa(os.Getpid())
	for _, c := range []struct{ name, ours, theirs string }{
		{"file", filepath.Join(dir, "ours.sock"), filepath.Join(dir, "theirs.sock")},
		{"abstract", abstract + "-ours", abstract + "-theirs"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ours, err := listenUnix(c.ours)
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := listenNet(c.theirs)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ours.Addr().String(), c.ours; got != want {
				t.Errorf("Addr %q, want %q", got, want)
			}
			if got, want := ours.Addr().Network(), theirs.Addr().Network(); got != want {
				t.Errorf("Network %q, want %q", got, want)
			}
			if got, want := backlog(t, ours), backlog(t, theirs); got != want || got <= 0 {
				t.Errorf("backlog %d, net.ListenUnix's %d", got, want)
			}

			conn, err := net.Dial("unix", c.ours)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			conn.Close()
			got, err := ours.Accept()
			if err != nil {
				t.Fatal(err)
			}
			b := make([]byte, 8)
			n, _ := got.Read(b)
			got.Close()
			if string(b[:n]) != "ping" {
				t.Errorf("read %q", b[:n])
			}

			// A second listener on the address fails as net's does.
			_, errOurs := listenUnix(c.ours)
			_, errTheirs := listenNet(c.ours)
			if errOurs == nil || errTheirs == nil || errOurs.Error() != errTheirs.Error() || !errors.Is(errOurs, syscall.EADDRINUSE) {
				t.Errorf("address in use: %v, net.ListenUnix: %v", errOurs, errTheirs)
			}

			ours.Close()
			theirs.Close()
			if c.name == "file" {
				for _, p := range []string{c.ours, c.theirs} {
					if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("%s after Close: %v, want it removed", p, err)
					}
				}
			}
		})
	}

	missing := filepath.Join(dir, "no", "such", "dir.sock")
	_, errOurs := listenUnix(missing)
	_, errTheirs := listenNet(missing)
	if errOurs == nil || errTheirs == nil || errOurs.Error() != errTheirs.Error() {
		t.Errorf("missing directory: %v, net.ListenUnix: %v", errOurs, errTheirs)
	}
}

// TestSomaxconn: the small read gives what the sysctl file says.
func TestSomaxconn(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		t.Skip(err)
	}
	want, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := somaxconn(); got != want {
		t.Errorf("somaxconn() = %d, the file says %d", got, want)
	}
}

// backlog returns a listening unix socket's backlog (its sk_max_ack_backlog),
// asked from the kernel over NETLINK_SOCK_DIAG (unix_diag, UDIAG_SHOW_RQLEN).
func backlog(t *testing.T, ln *net.UnixListener) int {
	t.Helper()
	raw, err := ln.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	raw.Control(func(fd uintptr) { err = syscall.Fstat(int(fd), &st) })
	if err != nil {
		t.Fatal(err)
	}
	s, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 4 /* NETLINK_SOCK_DIAG */)
	if err != nil {
		t.Skip("no sock_diag:", err)
	}
	defer syscall.Close(s)
	const (
		sockDiagByFamily = 20
		listenState      = 10 // TCP_LISTEN
		showRQLen        = 0x10
		diagRQLen        = 4 // UNIX_DIAG_RQLEN
	)
	req := make([]byte, 16+24)
	ne := binary.NativeEndian
	ne.PutUint32(req[0:], uint32(len(req)))
	ne.PutUint16(req[4:], sockDiagByFamily)
	ne.PutUint16(req[6:], syscall.NLM_F_REQUEST)
	req[16] = syscall.AF_UNIX
	ne.PutUint32(req[20:], 1<<listenState)
	ne.PutUint32(req[24:], uint32(st.Ino))
	ne.PutUint32(req[28:], showRQLen)
	ne.PutUint32(req[32:], ^uint32(0)) // no cookie
	ne.PutUint32(req[36:], ^uint32(0))
	if err := syscall.Sendto(s, req, 0, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8192)
	n, _, err := syscall.Recvfrom(s, buf, 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.Header.Type != sockDiagByFamily || len(m.Data) < 16 || ne.Uint32(m.Data[4:]) != uint32(st.Ino) {
			continue
		}
		for a := m.Data[16:]; len(a) >= 4; {
			l, typ := int(ne.Uint16(a[0:])), ne.Uint16(a[2:])
			if l < 4 || l > len(a) {
				break
			}
			if typ == diagRQLen && l >= 12 {
				return int(ne.Uint32(a[8:])) // udiag_wqueue: the backlog of a listener
			}
			a = a[(l+3)&^3:]
		}
	}
	t.Fatalf("no unix_diag answer for inode %d", st.Ino)
	return 0
}
