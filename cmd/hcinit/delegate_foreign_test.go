package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// TestDelegateForeignServerNotBelieved: a go-healthcheck server that hcinit
// did not start — another container's app writing .hc-socket into a shared
// working directory, its socket in a shared /tmp — is announced as if it were
// the child's. hcinit must not believe its "healthy": the server of a
// delegate must be a process of hcinit's own tree (the child or one of its
// descendants). The old code adopted it and reported its answer as the
// child's.
func TestDelegateForeignServerNotBelieved(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "hc.sock")
	if _, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--interval", "200ms", "--retries", "1",
		"--", "sleep", "60"}, withDir(dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := waitStatus(sock, 10*time.Second, "healthy", func(st health.Status) bool {
		return st.Overall == health.StatusHealthy
	}); err != nil {
		t.Fatal(err)
	}
	// The foreign server: started by the test, not by hcinit.
	startForeignV1(t, dir)
	st, err := waitStatus(sock, 10*time.Second, "the foreign server's socket adopted and judged", func(st health.Status) bool {
		for _, c := range st.Checks {
			if c.Name == "delegate" && len(c.Log) > 0 {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Checks {
		if c.Name != "delegate" {
			continue
		}
		last := c.Log[len(c.Log)-1]
		if last.ExitCode == 0 || !strings.Contains(last.Output, "not a process hcinit started") {
			t.Errorf("delegate to a server hcinit did not start: exit %d, output %q; want a failure saying so", last.ExitCode, last.Output)
		}
	}
}

// TestDelegateForeignServerNotBelievedAsPID1 is the same as PID 1 of a pid
// namespace, with the foreign server joining that namespace from outside, as
// a process of `docker run --pid container:X` or `kubectl debug --target`
// does: it is in hcinit's pid namespace (SO_PEERCRED names it) but not in
// hcinit's tree (its parent is outside: PPID 0). The old code believed every
// process of the namespace when hcinit is PID 1, and reported the foreign
// server's "healthy" as the child's (its "unhealthy" would have restarted
// the child under --on-unhealthy restart).
func TestDelegateForeignServerNotBelievedAsPID1(t *testing.T) {
	needRoot(t)
	t.Parallel()
	dir := t.TempDir()
	p, err := spawn(t, []string{"unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
		hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--interval", "200ms", "--retries", "1",
		"--", "sleep", "60"}, withDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.waitStderr("state=healthy", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	pid1, err := childOf(p.pid(), "hcinit", readyWait)
	if err != nil {
		t.Fatal(err)
	}
	startForeignV1(t, dir, "nsenter", "-t", strconv.Itoa(pid1), "-p", "--")
	if err := p.waitStderr("check=delegate", 2, readyWait); err != nil {
		t.Fatal(err)
	}
	log := p.stderr()
	if strings.Contains(log, "check=delegate component=health state=healthy") ||
		!strings.Contains(log, "not a process hcinit started") {
		t.Errorf("delegate to a server that joined hcinit's pid namespace from outside: want it not believed%s", p.stderrNote())
	}
}

// startForeignV1 starts a go-healthcheck server in dir, as a program hcinit
// did not start (through prefix, e.g. nsenter): without HEALTHCHECK_*
// variables it writes .hc-socket in dir and listens in /tmp. It returns once
// the server listens; Cleanup stops it (SIGTERM: it removes its socket).
func startForeignV1(t *testing.T, dir string, prefix ...string) {
	argv := append(prefix, filepath.Join(binDir, "v1server"))
	foreign := exec.Command(argv[0], argv[1:]...)
	foreign.Dir = dir
	foreign.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEALTHCHECK_") {
			foreign.Env = append(foreign.Env, kv)
		}
	}
	out, err := foreign.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := foreign.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		server := foreign.Process.Pid
		if len(prefix) > 0 { // the server is the prefix's child
			if pid, err := childOf(server, "v1server", time.Second); err == nil {
				server = pid
			}
		}
		syscall.Kill(server, syscall.SIGTERM)
		timer := time.AfterFunc(10*time.Second, func() { syscall.Kill(server, syscall.SIGKILL); foreign.Process.Kill() })
		foreign.Wait()
		timer.Stop()
	})
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "serving\n" {
		t.Fatalf("v1server: %q", line)
	}
}

// TestConfiguredDelegateOfAnotherContainerNotBelieved: a delegate address
// given in the spec (delegate,addr=…) names where to ask, not whom to
// believe. Here hcinit runs in a pid and mount namespace of its own (a
// container) and the server at that address in the test's (another
// container sharing the socket, as every container of a pod shares an
// abstract one). The old code believed its "healthy".
func TestConfiguredDelegateOfAnotherContainerNotBelieved(t *testing.T) {
	needRoot(t)
	t.Parallel()
	serverDir := t.TempDir()
	startForeignV1(t, serverDir)
	name, err := os.ReadFile(filepath.Join(serverDir, ".hc-socket"))
	if err != nil {
		t.Fatal(err)
	}
	addr := filepath.Join("/tmp", strings.TrimSpace(string(name))+".sock")
	dir := t.TempDir()
	p, err := spawn(t, []string{"unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "--kill-child",
		hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--retries", "1", "--interval", "1h",
		"--check", "delegate,addr=" + addr + ",name=cfg", "--", "sleep", "60"}, withDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.waitStderr("check=cfg", 1, readyWait); err != nil {
		t.Fatal(err)
	}
	if log := p.stderr(); strings.Contains(log, "check=cfg component=health state=healthy") ||
		!strings.Contains(log, "not this container's server") {
		t.Errorf("a configured delegate answered by another container's server: want it not believed%s", p.stderrNote())
	}
}
