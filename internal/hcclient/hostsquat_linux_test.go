package hcclient

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostSquatterNotBelieved: on the host (the initial pid namespace, no
// container), another user's server at an address hcinit check asks — any
// user may bind /tmp/hcinit.sock or @hcinit while no hcinit runs — is not
// believed. Before, root's hcinit check took its "healthy" and exited 0.
func TestHostSquatterNotBelieved(t *testing.T) {
	if os.Getenv("HCCLIENT_SQUAT") != "" {
		squat(os.Getenv("HCCLIENT_SQUAT"))
		return
	}
	if os.Getuid() != 0 || !hostPidNS() {
		t.Skip("needs root in the initial pid namespace")
	}
	// The test binary's directory is root's alone: uid 65534 runs a copy.
	dir, err := os.MkdirTemp("", "hcclient-squat-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	exe := filepath.Join(dir, "squat")
	if out, err := exec.Command("install", "-m", "0755", os.Args[0], exe).CombinedOutput(); err != nil {
		t.Fatalf("install: %v: %s", err, out)
	}
	addr := fmt.Sprintf("@hcclient-test-%d-squat", os.Getpid())
	cmd := exec.Command(exe, "-test.run=^TestHostSquatterNotBelieved$")
	cmd.Env = append(os.Environ(), "HCCLIENT_SQUAT="+addr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("squatter: %q, %v", line, err)
	}
	reply, err := Ask(time.Now().Add(2*time.Second), []string{addr}, WordPing, 4096)
	if err == nil || !strings.Contains(err.Error(), "runs as uid 65534, neither root nor the caller") {
		t.Errorf("another user's server on the host: %q, %v; want it not believed", reply, err)
	}
}

// squat serves "healthy" on addr to whoever asks (the helper process).
func squat(addr string) {
	ln, err := net.Listen("unix", addr)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("ready")
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		c.Write([]byte("healthy"))
		c.Close()
	}
}
