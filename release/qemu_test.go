package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The released binaries of two foreign architectures run under
// qemu-user-static (Debian's package; the emulator is called directly, so no
// binfmt_misc registration is needed): arm64, what many Kubernetes nodes run,
// and s390x, big-endian, where a byte-order slip in the socket protocol would
// show. Each one is PID 1 of a fresh PID namespace, with the host's sh as its
// child (the emulated hcinit execs it natively).
//
// These tests look at a release directory: HCINIT_DIST (make release-check
// sets it); without it they are skipped.
var emulated = []struct{ bin, qemu, goarch string }{
	{"hcinit-arm64", "qemu-aarch64-static", "arm64"},
	{"hcinit-s390x", "qemu-s390x-static", "s390x"},
}

func distDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HCINIT_DIST")
	if dir == "" {
		t.Skip("HCINIT_DIST is not set: `make release-check` runs these tests on a release directory")
	}
	return dir
}

func TestQemuVersion(t *testing.T) {
	dist := distDir(t)
	for _, e := range emulated {
		t.Run(e.goarch, func(t *testing.T) {
			qemu := needQemu(t, e.qemu)
			out, err := run(t, 60*time.Second, nil, qemu, filepath.Join(dist, e.bin), "version")
			if err != nil {
				t.Fatalf("%s version: %v\n%s", e.bin, err, out)
			}
			first, _, _ := strings.Cut(out, "\n")
			if want := os.Getenv("HCINIT_VERSION"); !strings.HasPrefix(first, "hcinit ") || want != "" && first != "hcinit "+want {
				t.Errorf("%s version: first line %q, want \"hcinit %s\"", e.bin, first, os.Getenv("HCINIT_VERSION"))
			}
			if !strings.Contains(out, " linux/"+e.goarch+"\n") || !strings.Contains(out, "CGO_ENABLED=0") {
				t.Errorf("%s version:\n%s\nwant linux/%s and CGO_ENABLED=0", e.bin, out, e.goarch)
			}
		})
	}
}

// The child's exit status is hcinit's, a child killed by a signal gives
// 128+signal, as with tini.
func TestQemuExitCode(t *testing.T) {
	dist := distDir(t)
	for _, e := range emulated {
		t.Run(e.goarch, func(t *testing.T) {
			qemu := needQemu(t, e.qemu)
			for script, want := range map[string]int{"exit 3": 3, "exit 0": 0, "kill -KILL $$": 128 + 9} {
				out, err := run(t, 60*time.Second, nil, "unshare", "--pid", "--fork", "--mount-proc",
					qemu, filepath.Join(dist, e.bin), "--", "sh", "-c", script)
				var ee *exec.ExitError
				code := 0
				if errors.As(err, &ee) {
					code = ee.ExitCode()
				} else if err != nil {
					t.Fatalf("%s -- sh -c %q: %v\n%s", e.bin, script, err, out)
				}
				if code != want {
					t.Errorf("%s -- sh -c %q: exit %d, want %d\n%s", e.bin, script, code, want, out)
				}
			}
		})
	}
}

// As PID 1: an orphan is re-parented to hcinit and reaped, `hcinit check`
// (run in the namespace as docker exec would) answers healthy, a HUP is
// forwarded and the child stays, a TERM is forwarded and the child's exit
// status (42, from its TERM trap) is hcinit's.
func TestQemuPID1(t *testing.T) {
	dist := distDir(t)
	for _, e := range emulated {
		t.Run(e.goarch, func(t *testing.T) {
			qemu := needQemu(t, e.qemu)
			dir := t.TempDir()
			socket := fmt.Sprintf("@hcinit-release-qemu-%d-%s", os.Getpid(), e.goarch)
			env := []string{"HCINIT_SOCKET=" + socket, "D=" + dir}
			// The orphan: a sleep whose parent exits at once; its pid (in
			// the namespace) is published after it is started. The wait on
			// a background sleep lets the traps run as soon as a signal comes.
			script := `trap 'echo hup >> "$D/hup"' HUP
trap 'echo term > "$D/term"; exit 42' TERM
sh -c 'sleep 3 & echo $! > "$D/orphan.tmp"; mv "$D/orphan.tmp" "$D/orphan"'
echo $$ > "$D/ready"
while :; do sleep 1 & wait $!; done`
			var stderr bytes.Buffer
			cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", qemu, filepath.Join(dist, e.bin),
				"--interval", "500ms", "--", "sh", "-c", script)
			cmd.Env = append(os.Environ(), env...)
			cmd.Stdout, cmd.Stderr = &stderr, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			t.Cleanup(func() {
				select {
				case <-done:
				default:
					cmd.Process.Kill()
					<-done
				}
			})
			exited := func() bool {
				select {
				case err := <-done:
					done <- err
					return true
				default:
					return false
				}
			}

			waitFor(t, 60*time.Second, "the child's ready file", exited, func() bool { return exists(filepath.Join(dir, "ready")) })
			// unshare --fork's child is the emulator running hcinit: PID 1.
			pid1 := childOf(t, cmd.Process.Pid)
			ns := func(args ...string) *exec.Cmd { // a command in hcinit's mount (and so /proc) namespace
				return exec.Command("nsenter", append([]string{"--target", strconv.Itoa(pid1), "--mount", "--pid", "--"}, args...)...)
			}

			checkOrphanReaped(t, dir, ns, exited)

			var check string
			waitFor(t, 60*time.Second, "hcinit check to answer healthy", exited, func() bool {
				c := ns(qemu, filepath.Join(dist, e.bin), "check")
				c.Env = append(os.Environ(), env...)
				out, err := c.CombinedOutput()
				check = string(out)
				return err == nil && strings.HasPrefix(check, "healthy")
			})

			if err := syscall.Kill(pid1, syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 30*time.Second, "the child to get the HUP", exited, func() bool { return exists(filepath.Join(dir, "hup")) })

			if err := syscall.Kill(pid1, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var err error
			select {
			case err = <-done:
				done <- err
			case <-time.After(60 * time.Second):
				t.Fatalf("hcinit did not exit within 60s of TERM\n%s", stderr.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 42 {
				t.Errorf("after TERM: %v, want exit status 42 (the child's)\n%s", err, stderr.String())
			}
			if !exists(filepath.Join(dir, "term")) {
				t.Errorf("the child did not get the TERM\n%s", stderr.String())
			}
		})
	}
}

// checkOrphanReaped: the orphan whose pid the script publishes in dir/orphan
// is re-parented to PID 1 (hcinit) and then reaped; ns runs a command in
// hcinit's namespaces, exited says whether hcinit is gone.
func checkOrphanReaped(t *testing.T, dir string, ns func(args ...string) *exec.Cmd, exited func() bool) {
	t.Helper()
	waitFor(t, 30*time.Second, "the orphan's pid", exited, func() bool { return exists(filepath.Join(dir, "orphan")) })
	b, _ := os.ReadFile(filepath.Join(dir, "orphan"))
	orphan := strings.TrimSpace(string(b))
	if out, err := ns("cat", "/proc/"+orphan+"/stat").Output(); err != nil {
		t.Errorf("the orphan %s is gone before it could be seen (sleep 3): %v", orphan, err)
	} else if f := strings.Fields(string(out[bytes.LastIndexByte(out, ')')+1:])); len(f) < 2 || f[1] != "1" {
		t.Errorf("orphan %s: stat %q, want its parent to be 1 (hcinit)", orphan, out)
	}
	// Gone from /proc once its parent, PID 1, has waited for it;
	// a zombie keeps its entry.
	waitFor(t, 30*time.Second, "the orphan to be reaped", exited, func() bool {
		return ns("test", "-e", "/proc/"+orphan).Run() != nil
	})
}

// needQemu returns the emulator's path; without it the test fails when the
// release directory is there (CI installs qemu-user-static via scripts/deps.sh).
func needQemu(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s: %v (Debian package qemu-user-static; scripts/deps.sh installs it)", name, err)
	}
	return p
}

func run(t *testing.T, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %v: no exit within %s\n%s", name, args, timeout, out)
	}
	return string(out), err
}

// waitFor polls cond until it holds, failing the test after timeout or when
// gone reports that the process under test has exited.
func waitFor(t *testing.T, timeout time.Duration, what string, gone, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if gone() {
			t.Fatalf("waiting for %s: hcinit exited", what)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// childOf returns the only child of pid.
func childOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	if len(f) != 1 {
		t.Fatalf("unshare (%d) has children %q, want one", pid, f)
	}
	c, _ := strconv.Atoi(f[0])
	return c
}
