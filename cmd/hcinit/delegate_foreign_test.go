package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
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
	// The foreign server: started by the test, not by hcinit, with no
	// HEALTHCHECK_* variables (it writes .hc-socket in dir).
	foreign := exec.Command(filepath.Join(binDir, "v1server"))
	foreign.Dir = dir
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
	t.Cleanup(func() { // SIGTERM: it removes its socket in /tmp
		foreign.Process.Signal(syscall.SIGTERM)
		timer := time.AfterFunc(10*time.Second, func() { foreign.Process.Kill() })
		foreign.Wait()
		timer.Stop()
	})
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "serving\n" {
		t.Fatalf("v1server: %q", line)
	}
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
