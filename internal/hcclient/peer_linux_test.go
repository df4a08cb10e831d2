package hcclient

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A server in this process is this container's; pid 0 (not in this pid
// namespace) and a process in another mount namespace are not.
func TestVerifyPid(t *testing.T) {
	if err := verifyPid(os.Getpid()); err != nil {
		t.Errorf("own pid: %v", err)
	}
	if err := verifyPid(0); !errors.Is(err, ErrForeign) {
		t.Errorf("pid 0: %v, want ErrForeign", err)
	}
	if err := verifyPid(otherMountNS(t)); !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), "mount namespace") {
		t.Errorf("process in another mount namespace: %v, want ErrForeign naming the mount namespace", err)
	}
}

// otherMountNS starts a process in a mount namespace of its own (unshare
// --mount) and returns its pid; it skips the test when not root.
func otherMountNS(t *testing.T) int {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("another mount namespace needs root")
	}
	c := exec.Command("unshare", "--mount", "--", "sleep", "30")
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		t.Skipf("unshare: %v", err)
	}
	t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	// unshare execs sleep once the namespace is made.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, _ := os.ReadFile("/proc/" + itoa(c.Process.Pid) + "/comm"); strings.TrimSpace(string(b)) == "sleep" {
			return c.Process.Pid
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare did not exec sleep")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A server whose process is exiting (its /proc directory still there, its
// namespace links gone: a zombie, or a container's PID 1 dying while an exec
// probe asks it) is said to be exiting, not hidden by hidepid.
func TestVerifyPidExiting(t *testing.T) {
	c := exec.Command("true")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	pid := c.Process.Pid
	t.Cleanup(func() { c.Wait() })
	// Not reaped: a zombie once it exited.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if b, _ := os.ReadFile("/proc/" + itoa(pid) + "/stat"); strings.Contains(string(b), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("true did not become a zombie")
		}
		time.Sleep(5 * time.Millisecond)
	}
	err := verifyPid(pid)
	if err == nil || !strings.Contains(err.Error(), "exiting") || strings.Contains(err.Error(), "hidepid") {
		t.Errorf("zombie server: %v, want an error saying it is exiting", err)
	}
}

// The mount table fallback (another user's server): the same mount at "/"
// is the same namespace; a process in another mount namespace, whose "/" is
// a copy, is foreign.
func TestSameMounts(t *testing.T) {
	a, err := rootMountIDs("/proc/self/mountinfo")
	if err != nil || len(a) == 0 {
		t.Fatalf("own root mount IDs: %q, %v", a, err)
	}
	if err := sameMounts(os.Getpid()); err != nil {
		t.Errorf("own pid: %v", err)
	}
	if err := sameMounts(otherMountNS(t)); !errors.Is(err, ErrForeign) {
		t.Errorf("process in another mount namespace: %v, want ErrForeign", err)
	}
}

// Check with an explicit address still verifies the server; here it is this
// process, so it is believed.
func TestCheckVerifiesOwnServer(t *testing.T) {
	addr := filepath.Join(shortDir(t), "s.sock")
	fakeServer(t, addr, v1Handler("healthy"))
	if have, err := Check(context.Background(), Options{Socket: addr, Timeout: wait}); err != nil || have != "healthy" {
		t.Fatalf("Check = %q, %v", have, err)
	}
}

// HcinitSockets holds the container-scoped abstract name before @hcinit.
func TestHcinitSockets(t *testing.T) {
	list := HcinitSockets()
	if len(list) != 5 || !strings.HasPrefix(list[3], "@hcinit.mnt-") || list[4] != "@hcinit" {
		t.Errorf("HcinitSockets = %q", list)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSameMountsWhileMountsChange: another user's server in this mount
// namespace is believed while the mount table changes, as it does on a host or
// a node where Docker, containerd or the kubelet mount and unmount all the
// time. The table is read twice, once through each process; a mount between
// the two reads made them differ, and hcinit check run as another user
// refused its own container's hcinit as "another container's" (seen in
// land.sh while a CI run started containers).
func TestSameMountsWhileMountsChange(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount")
	}
	dir := t.TempDir()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=4k"); err != nil {
				t.Errorf("mount: %v", err)
				return
			}
			unix.Unmount(dir, unix.MNT_DETACH)
		}
	}()
	defer func() { close(stop); <-done }()
	for i := 0; i < 2000; i++ {
		if err := sameMounts(os.Getpid()); err != nil {
			t.Fatalf("check %d: %v (the same process, so the same mounts)", i, err)
		}
	}
}
