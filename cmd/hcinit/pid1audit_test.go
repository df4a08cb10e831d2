package main

import (
	"bytes"
	"debug/elf"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMainPIDSelfRefused: MAINPID= naming hcinit itself is refused, as
// systemd refuses a new main PID that "is the manager" (src/core/service.c,
// service_is_suitable_main_pid). The old code adopted it: hcinit supervised
// itself, forwarded every signal to itself in a loop, and never exited after
// the real child did.
func TestMainPIDSelfRefused(t *testing.T) {
	t.Parallel()
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--check", "notify", "--",
		"sdnotify", "READY=1", "MAINPID=$PPID", "forever"})
	if err != nil {
		t.Fatal(err)
	}
	// Both the old and the new code log the MAINPID= they read.
	if err := p.waitStderr("MAINPID=", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	// HUP goes to the child (a Go program: it dies of it, 128+1), not to
	// hcinit itself over and over.
	if err := p.signal(unix.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(exitWait, 128+1); err != nil {
		t.Fatalf("hcinit after its child exited: %v%s", err, p.stderrNote())
	}
}

// TestOrchestratorTermDuringOwnStop: the child exits on its own and leaves a
// background process, which hcinit asks to stop (its own stop, with its own
// grace). The orchestrator's TERM that follows (docker stop, a Kubernetes
// pod deletion) is the first stop trigger hcinit receives, not a second: the
// background process finishes its shutdown inside the orchestrator's grace
// and hcinit exits with the child's status. The old code took it for an
// operator insisting and SIGKILLed everything at once.
func TestOrchestratorTermDuringOwnStop(t *testing.T) {
	t.Parallel()
	done := filepath.Join(t.TempDir(), "background-done")
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--", "sh", "-c",
		"sigprint -name background -exit SIGTERM -linger 1500ms -touch " + done + " & " +
			"exec sigprint -name child -exit SIGUSR1 -code 3 -ready " + filepath.Join(t.TempDir(), "r")})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "child", "background"); err != nil {
		t.Fatal(err)
	}
	// The child ends by itself (USR1 is its way to exit 3); the background process
	// gets hcinit's stop signal.
	if err := p.signal(unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if err := p.out.await(sigWait, "background SIGTERM"); err != nil {
		t.Fatal(err)
	}
	if err := p.signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := p.exit(exitWait)
	_, statErr := os.Stat(done)
	if err != nil {
		t.Fatal(err)
	}
	if statErr != nil {
		t.Errorf("the background process was killed in its shutdown%s", p.stderrNote())
	}
	if code != 3 {
		t.Errorf("exit %d, want the child's 3", code)
	}
}

// TestNotifyRelayedUpstream: hcinit run by a manager that listens for
// sd_notify itself (a systemd Type=notify unit, podman --sdnotify=container)
// inherits NOTIFY_SOCKET and gives the child its own. What the child says
// must still reach that manager, or `systemctl start` waits for a READY=1 that
// never comes and fails the unit at TimeoutStartSec (tini and dumb-init leave
// NOTIFY_SOCKET alone, so the child speaks to it directly). systemd accepts
// only its main process's messages by default (NotifyAccess=main), and that
// is hcinit: hcinit sends them, without MAINPID= (the manager's main process
// stays hcinit). The old code relayed nothing.
func TestNotifyRelayedUpstream(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	up := filepath.Join(dir, "upstream.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: up, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if raw, err := conn.SyscallConn(); err == nil {
		raw.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) })
	}
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--check", "notify", "--",
		"sdnotify", "MAINPID=$PPID", `READY=1\nSTATUS=serving`, "forever"}, withEnv("NOTIFY_SOCKET="+up))
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(readyWait))
	buf, oob := make([]byte, 4096), make([]byte, 256)
	for {
		n, noob, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			t.Fatalf("nothing relayed to the inherited NOTIFY_SOCKET: %v%s", err, p.stderrNote())
		}
		msg := string(buf[:n])
		if strings.Contains(msg, "MAINPID=") {
			t.Errorf("MAINPID= relayed: %q", msg)
		}
		if !strings.Contains(msg, "READY=1") {
			continue
		}
		if !strings.Contains(msg, "STATUS=serving") {
			t.Errorf("relayed %q, want READY=1 and STATUS=serving", msg)
		}
		msgs, _ := unix.ParseSocketControlMessage(oob[:noob])
		for _, m := range msgs {
			if cred, err := unix.ParseUnixCredentials(&m); err == nil && int(cred.Pid) != p.pid() {
				t.Errorf("relayed by pid %d, want hcinit's %d (NotifyAccess=main)", cred.Pid, p.pid())
			}
		}
		return
	}
}

// TestExecErrorExplained: execve's "no such file or directory" for a file that
// exists means its interpreter is missing — a #! line naming a missing
// program, a script saved with CRLF line endings ("/bin/sh\r"), or a
// dynamically linked binary in an image without its loader (the classic
// FROM scratch mistake) — and "exec format error" a script without #! or a
// binary for another machine. The status stays a shell's (127, 126); the
// message names what is missing. The old code said only "no such file or
// directory" about a file that is there.
func TestExecErrorExplained(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// /bin/true with its loader renamed: same length, so the ELF stays valid.
	bin, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	interp := elfInterp(t, "/bin/true")
	missing := interp[:len(interp)-1] + "X"
	for _, tc := range []struct {
		name, path string
		code       int
		want       string
	}{
		{"#! names a missing program", write("bad-interp", []byte("#!/nonexistent/interp -x\nexit 0\n")), 127, "/nonexistent/interp"},
		{"CRLF line endings", write("crlf", []byte("#!/bin/sh\r\nexit 0\r\n")), 127, `carriage return`},
		{"missing loader", write("dynamic", bytes.Replace(bin, []byte(interp), []byte(missing), 1)), 127, missing},
		{"no #! line", write("no-shebang", []byte("echo hi\n")), 126, "#!"},
		{"a directory", dir, 126, "directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--", tc.path})
			if err != nil {
				t.Fatal(err)
			}
			if err := p.expectExit(exitWait, tc.code); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(p.stderr(), tc.want) || !strings.Contains(p.stderr(), tc.path) {
				t.Errorf("the message names neither %q nor %s%s", tc.want, tc.path, p.stderrNote())
			}
		})
	}
}

// elfInterp is the program interpreter (PT_INTERP) of the ELF file at path.
func elfInterp(t *testing.T, path string) string {
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				t.Fatal(err)
			}
			return string(bytes.TrimRight(b, "\x00"))
		}
	}
	t.Skipf("%s is statically linked", path)
	return ""
}

// TestNotifyAllRefusesOtherPIDNamespace: --notify-access all takes any
// process of an allowed user, but of this container only — systemd's
// NotifyAccess=all is limited to the unit's cgroup. A sender in no pid
// namespace hcinit can see (SCM_CREDENTIALS pid 0: another container of the
// pod, which shares /dev/shm and abstract sockets) is refused. The old code
// took its READY=1.
func TestNotifyAllRefusesOtherPIDNamespace(t *testing.T) {
	needRoot(t)
	t.Parallel()
	p, err := spawn(t, []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
		hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--notify-access", "all", "--check", "notify,interval=1h", "--",
		"sh", "-c", `echo "notify $NOTIFY_SOCKET"; exec sleep 60`})
	if err != nil {
		t.Fatal(err)
	}
	var addr string
	if err := p.out.waitFor(readyWait, func(all []string) bool {
		for _, l := range all {
			if a, ok := strings.CutPrefix(l, "notify "); ok {
				addr = a
			}
		}
		return addr != ""
	}); err != nil {
		t.Fatal(err)
	}
	// This test process is outside hcinit's pid namespace.
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("READY=1\nSTATUS=foreign")); err != nil {
		t.Fatal(err)
	}
	if err := p.waitStderr("ignoring notify message", 1, readyWait); err != nil {
		t.Error(err)
	}
	if strings.Contains(p.stderr(), "state=healthy") {
		t.Errorf("READY=1 from another pid namespace taken%s", p.stderrNote())
	}
}

// TestNotifyRefusalsDoNotFloodTheLog: a process that may not notify (here
// not the main process) and sends every millisecond — worker processes that
// inherited NOTIFY_SOCKET and each send WATCHDOG=1 — costs the container's
// log, which is the application's, a line now and then, not one per datagram.
// The old code wrote a warning for each.
func TestNotifyRefusalsDoNotFloodTheLog(t *testing.T) {
	t.Parallel()
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--", "sh", "-c",
		`sdnotify every=1ms:WATCHDOG=1 sleep=1500ms STATUS=last; echo flood done; exec sleep 60`})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.await(readyWait, "flood done"); err != nil {
		t.Fatal(err)
	}
	if err := p.waitStderr("ignoring notify message", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(p.stderr(), "ignoring notify message"); n > 5 {
		t.Errorf("%d log lines for one refused sender's flood, want at most 5", n)
	}
}

// TestStopSignalOnceToLeftovers: when the child exits and leaves a process
// in its group, that process gets the stop signal once. The old code sent it
// to the group and then to every descendant (as PID 1: the group, then
// kill(-1)), so a handler that had already taken the first ran twice — a
// shell trap's shutdown twice, or a program that restored the default action
// after the first killed by the second.
func TestStopSignalOnceToLeftovers(t *testing.T) {
	t.Parallel()
	p, err := spawn(t, []string{hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc.sock"), "--stop-timeout", "2s", "--", "sh", "-c",
		"sigprint -name background & exec sigprint -name child -exit SIGUSR1 -code 3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "child", "background"); err != nil {
		t.Fatal(err)
	}
	if err := p.signal(unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	// The background process ignores TERM; --stop-timeout ends it.
	if err := p.expectExit(exitWait, 3); err != nil {
		t.Fatal(err)
	}
	if n := len(signalsOf(p.out.snapshot(), "background")); n == 0 {
		t.Fatal("the background process printed nothing")
	}
	if n := strings.Count(strings.Join(p.out.snapshot(), "\n"), "background SIGTERM"); n != 1 {
		t.Errorf("the background process got SIGTERM %d times, want once: %q", n, p.out.snapshot())
	}
}

// TestNotifySocketNotTakenFromAnotherPID1: two hcinits, each PID 1 of its own
// pid namespace, share the runtime directory (/run/hcinit on a test host, or
// a shared mount): both are pid 1, so both want notify-1.sock. The second
// took the first's live socket by that name (it thought it its own from an
// earlier life), and the first's child's READY=1 went to the second, which
// refused it: the first never became healthy. Now the second picks another
// name.
func TestNotifySocketNotTakenFromAnotherPID1(t *testing.T) {
	needRoot(t)
	go1 := filepath.Join(t.TempDir(), "go")
	first, err := spawn(t, []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
		hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc1.sock"), "--check", "notify,interval=1h", "--",
		"sh", "-c", `echo "notify $NOTIFY_SOCKET"; while [ ! -e ` + go1 + ` ]; do sleep 0.05; done; exec sdnotify READY=1 sleep=60s`})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.out.waitFor(readyWait, func(all []string) bool {
		return slices.ContainsFunc(all, func(l string) bool { return strings.HasPrefix(l, "notify ") })
	}); err != nil {
		t.Fatal(err)
	}
	second, err := spawn(t, []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
		hcinitBin(), "--socket", filepath.Join(t.TempDir(), "hc2.sock"), "--check", "notify,interval=1h", "--",
		"sh", "-c", `echo "notify $NOTIFY_SOCKET"; exec sdnotify READY=1 sleep=60s`})
	if err != nil {
		t.Fatal(err)
	}
	if err := second.waitStderr("state=healthy", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(go1, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := first.waitStderr("state=healthy", 1, readyWait); err != nil {
		t.Errorf("the first hcinit's child's READY=1 never reached it: %v", err)
	}
}
