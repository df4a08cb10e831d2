package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fast keeps an example image as it is but shortens its timing: hcinit probes
// every 500ms (HCINIT_INTERVAL, the env twin the example's ENV sets), Docker
// asks hcinit every second and gives up after two failures. Docker's
// timeout is above hcinit check's own (5 s), as the tools image's.
var fast = []string{"--network", "none", "-e", "HCINIT_INTERVAL=500ms",
	"--health-interval", "1s", "--health-timeout", "10s", "--health-retries", "2"}

func (h *harness) example(name string) string { return "hcinit-example-" + name + ":" + h.tag }

// examples/legacy-http: healthy through the http check; docker stop ends it
// gracefully with its own exit code 0, at once.
func TestExampleLegacyHTTP(t *testing.T) {
	h := need(t)
	t.Parallel()
	c := h.start(t, fast, h.example("legacy-http"))
	c.waitHealth("healthy", settle)
	c.mustExec(0, "/hcinit", "check")
	took := c.stop()
	if in := c.inspect(); in.State.ExitCode != 0 || took > 4*time.Second {
		t.Errorf("docker stop: exit %d after %s, want 0 at once", in.State.ExitCode, took)
	}
	if logs := c.logs(); !strings.Contains(logs, "shutdown complete") {
		t.Errorf("no graceful shutdown in the log:\n%s", logs)
	}
}

// examples/go-library: hcinit, given no --check, delegates to the service's
// own check function, whose failure text reaches Docker's health log.
func TestExampleGoLibrary(t *testing.T) {
	h := need(t)
	t.Parallel()
	c := h.start(t, fast, h.example("go-library"))
	c.waitHealth("healthy", settle)
	if st, code := c.checkJSON("-w", "/"); code != 0 || !delegating(st) {
		t.Errorf("hcinit check --json: exit %d, checks %+v; want a healthy delegate check", code, st.Checks)
	}

	c.mustExec(0, "/app", "-ctl", "fail")
	c.waitHealth("unhealthy", settle)
	hs := c.inspect().State.Health
	if last := hs.Log[len(hs.Log)-1]; !strings.Contains(last.Output, "database unreachable (simulated)") {
		t.Errorf("Docker's last probe output %q lacks the service's own error", last.Output)
	}
	c.mustExec(0, "/app", "-ctl", "ok")
	c.waitHealth("healthy", settle)

	// go-healthcheck v1.0.x users probe with the binary itself; switching the
	// ENTRYPOINT to hcinit must not break that HEALTHCHECK.
	if out, errOut, code := c.exec(nil, "/app", "-healthcheck"); code != 0 {
		t.Errorf("/app -healthcheck under hcinit: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}

	took := c.stop()
	if in := c.inspect(); in.State.ExitCode != 0 || took > 4*time.Second {
		t.Errorf("docker stop: exit %d after %s, want 0 at once", in.State.ExitCode, took)
	}
}

// examples/legacy-daemon: the launcher exits 0 after writing the pid file;
// hcinit adopts the daemon, checks it, and stops it with docker stop.
func TestExampleLegacyDaemon(t *testing.T) {
	h := need(t)
	t.Parallel()
	c := h.start(t, fast, h.example("legacy-daemon"))
	c.waitHealth("healthy", settle)
	logs := c.logs()
	m := regexp.MustCompile(`daemon started as pid (\d+)`).FindStringSubmatch(logs)
	if m == nil || !strings.Contains(logs, "supervising daemon from pid file") {
		t.Fatalf("the daemon was not adopted:\n%s", logs)
	}
	if st, _ := c.checkJSON(); st.ChildPID == 0 || strconv.Itoa(st.ChildPID) != m[1] {
		t.Errorf("hcinit supervises pid %d, the daemon is pid %s", st.ChildPID, m[1])
	}
	took := c.stop()
	in := c.inspect()
	if in.State.ExitCode != 0 || took > 4*time.Second {
		t.Errorf("docker stop: exit %d after %s, want the daemon's 0 at once", in.State.ExitCode, took)
	}
	if logs := c.logs(); !strings.Contains(logs, "received terminated; shutting down") {
		t.Errorf("the daemon never got the stop signal:\n%s", logs)
	}
}

// examples/notify: starting until READY=1, healthy while WATCHDOG=1 keeps
// coming, unhealthy once the service is wedged (SIGUSR1 through hcinit), and
// healthy again.
func TestExampleNotify(t *testing.T) {
	h := need(t)
	t.Parallel()
	c := h.start(t, fast, h.example("notify"))
	seen := c.waitHealth("healthy", settle)
	if seen[0] != "starting" {
		t.Errorf("health statuses %v: want starting first (READY=1 comes after 2s)", seen)
	}
	st, code := c.checkJSON()
	if code != 0 || st.Notify == nil || !st.Notify.Ready || st.Notify.Status != "serving" {
		t.Errorf("hcinit check --json: exit %d, notify %+v; want READY=1 and STATUS=serving", code, st.Notify)
	}

	if _, err := docker("kill", "-s", "USR1", c.name); err != nil {
		t.Fatal(err)
	}
	c.waitHealth("unhealthy", settle)
	hs := c.inspect().State.Health
	if last := hs.Log[len(hs.Log)-1]; !strings.Contains(last.Output, "WATCHDOG") {
		t.Errorf("Docker's last probe output %q does not name the missing WATCHDOG=1", last.Output)
	}
	if _, err := docker("kill", "-s", "USR1", c.name); err != nil {
		t.Fatal(err)
	}
	c.waitHealth("healthy", settle)
	took := c.stop()
	if in := c.inspect(); in.State.ExitCode != 0 || took > 4*time.Second {
		t.Errorf("docker stop: exit %d after %s, want 0 at once", in.State.ExitCode, took)
	}
}

// examples/legacy-http/Dockerfile.distroless, on a base built here that looks
// like distroless' static:nonroot (passwd, group, /tmp; nothing can be
// pulled): everything runs as 65532, and the checks work.
func TestExampleDistroless(t *testing.T) {
	h := need(t)
	t.Parallel()
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
		"etc/group":  "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n",
		"Dockerfile": "FROM scratch\nCOPY etc /etc\nCOPY tmp /tmp\n",
	}
	for name, content := range files {
		p := filepath.Join(base, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	must(t, os.MkdirAll(filepath.Join(base, "tmp"), 0o755))
	must(t, os.Chmod(filepath.Join(base, "tmp"), 0o1777))
	baseImage := "hcinit-e2e-distroless-like:" + h.tag
	must(t, h.buildImage(baseImage, base))

	app := filepath.Join(dir, "app")
	must(t, os.MkdirAll(app, 0o755))
	must(t, copyFile(filepath.Join(h.bin, "legacy-http"), filepath.Join(app, "app")))
	image := "hcinit-e2e-legacy-http-distroless:" + h.tag
	must(t, h.buildImage(image, app, "-f", filepath.Join(h.root, "examples", "legacy-http", "Dockerfile.distroless"),
		"--build-arg", "BASE="+baseImage, "--build-arg", "HCINIT_IMAGE=hcinit:"+h.tag))

	c := h.start(t, fast, image)
	c.waitHealth("healthy", settle)
	c.mustExec(0, "/hcinit", "check")
	uids := c.topUIDs()
	if len(uids) < 2 {
		t.Errorf("docker top: want hcinit and the app, have %v", uids)
	}
	for cmd, uid := range uids {
		if uid != "65532" {
			t.Errorf("%q runs as uid %s, want 65532 (nonroot)", cmd, uid)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
