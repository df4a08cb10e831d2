package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	procfs "github.com/wisdom-oss/go-healthcheck/internal/proc"
)

// binDir holds hcinit and the helper programs, built once by TestMain and put
// first on PATH, so tests, scripts and the processes under test find them by name.
var binDir string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hcinit-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	// The binary under test is built as the Makefile builds it: static, no race
	// detector (its start-up time is part of what the tests look at).
	goTool, err := exec.LookPath("go")
	if err != nil {
		fmt.Fprintln(os.Stderr, "the go command must be on PATH:", err)
		return 1
	}
	build := exec.Command(goTool, "build", "-trimpath", "-o", dir+"/",
		"github.com/wisdom-oss/go-healthcheck/cmd/hcinit",
		"github.com/wisdom-oss/go-healthcheck/internal/testbin/...")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hcinit and the helpers:", err)
		return 1
	}
	os.Setenv("PATH", dir+string(filepath.ListSeparator)+os.Getenv("PATH"))
	// The hcinits these tests start see only the HCINIT_* variables a test
	// gives them: CI's HCINIT_E2E_DIST (.ci/run), the bench's HCINIT or a
	// developer's HCINIT_CHECK would otherwise change what they do, or add a
	// warning line ("unknown variable …") that tests of stderr read.
	peersOut := os.Getenv("HCINIT_PEERS_OUT") // this test binary's own
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "HCINIT") {
			os.Unsetenv(k)
		}
	}
	// The hcinits these tests start must not take the machine's default
	// sockets (/run/hcinit.sock, @hcinit), which other packages' tests, run in
	// parallel by go test, probe.
	os.Setenv("HCINIT_SOCKET", fmt.Sprintf("@hcinit-cmdtest-%d", os.Getpid()))

	// What a peer init leaves behind when it exits early comes back to this
	// process, not to the machine's init; cleanup kills and reaps it.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "register as subreaper:", err)
		return 1
	}
	code := m.Run()
	reapLeftovers()
	if peersOut != "" {
		if err := os.WriteFile(peersOut, []byte(peers.markdown()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "write peers table:", err)
			return 1
		}
	}
	return code
}

// reapLeftovers kills whatever was adopted by this process and reaps it. It runs
// after every test, when no exec.Cmd is waiting any more.
func reapLeftovers() {
	self := os.Getpid()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range procfs.All() {
			if p.PPID == self && p.State != 'Z' {
				_ = unix.Kill(p.PID, unix.SIGKILL)
			}
		}
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err != nil { // ECHILD: nothing left
			return
		}
		if pid == 0 { // a killed child's children come back here: go round again
			time.Sleep(10 * time.Millisecond)
		}
	}
}
