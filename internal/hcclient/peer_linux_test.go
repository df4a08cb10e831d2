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
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare did not exec sleep")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := verifyPid(c.Process.Pid); !errors.Is(err, ErrForeign) || !strings.Contains(err.Error(), "mount namespace") {
		t.Errorf("process in another mount namespace: %v, want ErrForeign naming the mount namespace", err)
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

// The mount table fallback: the same table is the same namespace.
func TestMountIDs(t *testing.T) {
	a, err := mountIDs("/proc/self/mountinfo")
	if err != nil || len(a) == 0 {
		t.Fatalf("own mount IDs: %q, %v", a, err)
	}
	b, _ := mountIDs("/proc/" + itoa(os.Getpid()) + "/mountinfo")
	if string(a) != string(b) {
		t.Errorf("own mount IDs differ between /proc/self and /proc/PID")
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
