package main

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestNotifyRelayStallKeepsWatchdog: an inherited NOTIFY_SOCKET whose reader
// stalls (its queue full) must not hold up hcinit's own handling of the
// child's messages. The relay waited up to 1 s per message in line with them,
// so a child sending WATCHDOG=1 every 50 ms had its --watchdog 500ms expire.
func TestNotifyRelayStallKeepsWatchdog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	up := filepath.Join(dir, "upstream.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: up, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close() // never read: a manager that stopped reading
	if raw, err := conn.SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 1) })
	}
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--check", "notify", "--watchdog", "500ms", "--",
		"sdnotify", "READY=1", "every=50ms:WATCHDOG=1", "forever"}, withEnv("NOTIFY_SOCKET="+up))
	if err != nil {
		t.Fatal(err)
	}
	if p.waitStderr("watchdog expired", 1, 4*time.Second) == nil {
		t.Errorf("the watchdog expired though the child sent WATCHDOG=1 every 50 ms:%s", p.stderrNote())
	}
}
