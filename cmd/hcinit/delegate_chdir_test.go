package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// TestDelegateFollowsChildCwd: a go-healthcheck v1.0.x app writes .hc-socket
// into the directory it runs in, and an app started as `sh -c 'cd app &&
// exec ./server'` (or one that calls os.Chdir before Init) writes it there,
// not where hcinit started it. Its own -healthcheck, run in that directory,
// asks its socket; hcinit must find the same socket and delegate to it, or
// `hcinit check` says healthy while the app says it is not. The old code
// watched only hcinit's own working directory and never adopted it.
func TestDelegateFollowsChildCwd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	if err := os.Mkdir(app, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "hc.sock")
	// As a v1.0.x app: no HEALTHCHECK_* variables, so the name goes into
	// .hc-socket in its working directory.
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--interval", "200ms", "--retries", "1", "--",
		"sh", "-c", `cd app && exec env -u HEALTHCHECK_NAME_FILE -u HEALTHCHECK_SOCKET_DIR "$0"`,
		filepath.Join(binDir, "v1server")}, withDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // TERM, forwarded: v1server removes its socket in /tmp
		p.signal(syscall.SIGTERM)
		p.exit(10 * time.Second)
	})
	if err := p.out.await(readyWait, "serving"); err != nil {
		t.Fatal(err)
	}
	name, err := os.ReadFile(filepath.Join(app, ".hc-socket"))
	if err != nil {
		t.Fatal(err)
	}
	want := "/tmp/" + string(name) + ".sock"
	if _, err := waitStatus(sock, 15*time.Second, "the app's socket (named in app/.hc-socket) adopted and healthy", func(st health.Status) bool {
		for _, c := range st.Checks {
			if c.Name == "delegate" && strings.Contains(c.Target, want) && len(c.Log) > 0 && c.Log[len(c.Log)-1].ExitCode == 0 {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatalf("%v%s", err, p.stderrNote())
	}
}
