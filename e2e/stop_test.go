package e2e

import (
	"strings"
	"testing"
	"time"
)

// `docker kill -s QUIT` is how users take a JVM's thread dump: the app must
// get it and run on, with its health untouched. The app says it got each QUIT
// ("thread dump N"), so the test knows the signal arrived; it then watches for
// 30 s — longer than any grace that could have been armed (hcinit's old 8 s,
// docker stop's 10 s) — that the container keeps running, healthy and ready. A
// second QUIT, which used to kill at once, changes nothing either.
func TestQuitOnlyForwarded(t *testing.T) {
	h := need(t)
	t.Parallel()
	c := h.start(t, []string{"--network", "none"}, h.tools, "--interval", "500ms", "--", "/sleeper", "-handle", "-dump")
	c.waitLog("ready pid=", settle)
	c.waitHealth("healthy", settle)
	if _, err := docker("kill", "-s", "QUIT", c.name); err != nil {
		t.Fatal(err)
	}
	c.waitLog("thread dump 1", settle)
	watch := time.Now().Add(30 * time.Second)
	for time.Now().Before(watch) {
		in := c.inspect()
		if !in.State.Running {
			t.Fatalf("the container stopped (exit %d) %s after one QUIT", in.State.ExitCode, time.Until(watch)+30*time.Second)
		}
		if in.State.Health == nil || in.State.Health.Status != "healthy" {
			t.Fatalf("health after QUIT: %+v, want healthy", in.State.Health)
		}
		time.Sleep(time.Second)
	}
	c.mustExec(0, "/hcinit", "check", "--ready")
	if _, err := docker("kill", "-s", "QUIT", c.name); err != nil {
		t.Fatal(err)
	}
	c.waitLog("thread dump 2", settle)
	c.mustExec(0, "/hcinit", "check", "--ready")
	if !c.inspect().State.Running {
		t.Fatal("a second QUIT stopped the container")
	}
	took := c.stop()
	if in := c.inspect(); in.State.ExitCode != 0 {
		t.Errorf("docker stop after the QUITs: exit %d after %s, want 0", in.State.ExitCode, took)
	}
}

// The grace is the orchestrator's: `docker stop -t 30` on an app that needs
// 12 s to shut down lets it finish, and the container exits 0 after about
// 12 s — not 137 at some grace of hcinit's own.
func TestStopOrchestratorGrace(t *testing.T) {
	h := need(t)
	t.Parallel()
	c := h.start(t, []string{"--network", "none"}, h.tools, "--", "/sleeper", "-handle", "-shutdown", "12s")
	c.waitLog("ready pid=", settle)
	took := c.stop("-t", "30")
	in := c.inspect()
	if in.State.ExitCode != 0 {
		t.Errorf("docker stop -t 30: exit %d after %s, want the app's 0", in.State.ExitCode, took.Round(100*time.Millisecond))
	}
	if took < 11*time.Second || took > 28*time.Second {
		t.Errorf("the container died %s after docker stop -t 30's signal; want about the app's 12 s", took.Round(100*time.Millisecond))
	}
	if logs := c.logs(); !strings.Contains(logs, "shutdown complete") {
		t.Errorf("the app did not finish its shutdown:\n%s", logs)
	}
	t.Logf("the container died %s after docker stop -t 30's signal, exit code %d", took.Round(100*time.Millisecond), in.State.ExitCode)
}

// Two containers sharing one network namespace share its abstract sockets
// (`docker run --network container:X`; a Kubernetes pod, which shares /dev/shm
// too: --ipc container:X). Each container's `hcinit check`, `hcinit status` and
// Docker HEALTHCHECK answer for that container — A is healthy, B fails its own
// check — on writable and on read-only roots. A library binary's -healthcheck
// in a third container with no hcinit of its own fails instead of borrowing
// A's.
func TestSharedNetworkDiscovery(t *testing.T) {
	h := need(t)
	t.Parallel()
	for _, tc := range []struct {
		name string
		a, b []string
	}{
		{"network", nil, nil},
		{"pod-like read-only", []string{"--read-only", "--ipc", "shareable"}, []string{"--read-only", "--ipc", "container:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := h.start(t, append([]string{"--network", "none"}, tc.a...), h.tools,
				"--interval", "500ms", "--check", "http://127.0.0.1:8080/health", "--", "/app")
			// A holds the shared sockets (@hcinit, /dev/shm) before B starts.
			a.waitHealth("healthy", settle)
			var bOpts []string
			for _, o := range tc.b {
				if o == "container:" {
					o += a.name
				}
				bOpts = append(bOpts, o)
			}
			bName := h.containerName(t) + "-b"
			b := h.startNamed(t, bName, append([]string{"--network", "container:" + a.name}, bOpts...), h.tools,
				"--interval", "500ms", "--retries", "1", "--check", "tcp://127.0.0.1:9", "--", "/sleeper")
			b.waitHealth("unhealthy", settle)
			if a.health() != "healthy" {
				t.Errorf("A's health turned %q when B started", a.health())
			}
			if st, code := a.checkJSON(); code != 0 || len(st.Checks) == 0 || !strings.Contains(st.Checks[0].Target, "8080") {
				t.Errorf("hcinit check --json in A: exit %d, checks %+v; want A's healthy http check", code, st.Checks)
			}
			if st, code := b.checkJSON(); code != 1 || len(st.Checks) == 0 || !strings.Contains(st.Checks[0].Target, ":9") {
				t.Errorf("hcinit check --json in B: exit %d, checks %+v; want B's failing tcp check", code, st.Checks)
			}
			b.mustExec(1, "/hcinit", "status")
			a.mustExec(0, "/hcinit", "status")

			// No hcinit of its own: a go-healthcheck binary asked for -healthcheck.
			out, err := docker("run", "--rm", "--label", labelKey+"=1", "--label", labelRunKey+"="+h.run,
				"--network", "container:"+a.name, "--read-only", "--entrypoint", "/app",
				"hcinit-example-go-library:"+h.tag, "-healthcheck")
			if code := exitCode(err); code != 1 {
				t.Errorf("/app -healthcheck in a container without hcinit, sharing A's network: exit %d (%s %v), want 1", code, out, err)
			}
			if err == nil || !strings.Contains(err.Error(), "no hcinit of this container answered") {
				t.Errorf("/app -healthcheck without hcinit: %v; want it to say no hcinit of its container answered", err)
			}
		})
	}
}
