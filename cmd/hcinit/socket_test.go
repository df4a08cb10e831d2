package main

// The health socket under hostile or silent clients.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	procfs "github.com/wisdom-oss/go-healthcheck/internal/proc"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// TestSilentForeignClients: more silent connections than hcinit has slots,
// from a uid it refuses, must not keep `hcinit check` from an answer. Before
// the fix each held its slot for the 5 s read timeout.
func TestSilentForeignClients(t *testing.T) {
	t.Parallel()
	needRoot(t)
	// An abstract socket: no file mode keeps uid 65534 out, only hcinit's
	// SO_PEERCRED check.
	sock := fmt.Sprintf("@hcinit-test-%d-silent", os.Getpid())
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--interval", "100ms", "--",
		"sh", "-c", "echo child ready $$; exec sleep 30"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "child"); err != nil {
		t.Fatal(err)
	}
	if _, err := waitStatus(sock, 5*time.Second, "healthy", func(st health.Status) bool {
		return st.Overall == health.StatusHealthy
	}); err != nil {
		t.Fatal(err)
	}

	// binDir is private to root: uid 65534 runs a copy from a directory it may enter.
	exeDir, err := os.MkdirTemp("", "hcinit-silent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(exeDir) })
	if err := os.Chmod(exeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(exeDir, "silent")
	// Copied by another process: a write descriptor open in this one while a
	// parallel test forks would make the exec fail with ETXTBSY (golang/go#22315).
	if out, err := exec.Command("install", "-m", "0755", filepath.Join(binDir, "silent"), exe).CombinedOutput(); err != nil {
		t.Fatalf("install: %v: %s", err, out)
	}
	silent := exec.Command(exe, "-n", "1100", sock)
	silent.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: 65534, Gid: 65534},
		Pdeathsig:  syscall.SIGKILL,
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	silent.Stdout, silent.Stderr, silent.Dir = w, os.Stderr, exeDir
	if err := silent.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	out := newLines()
	go out.read(r)
	t.Cleanup(func() { _ = silent.Process.Kill(); _ = silent.Wait(); r.Close() })
	if err := out.ready(readyWait, "silent"); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	reply, code, err := hcinitClient("check", "--socket", sock, "--timeout", "3s")
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Errorf("hcinit check with 1100 silent foreign connections open: exit %d after %s (%s)",
			code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(reply))
	}
	if pr, err := procfs.Stat(silent.Process.Pid); err != nil || pr.State == 'Z' {
		t.Errorf("the silent clients were gone before the check ended")
	}
}
