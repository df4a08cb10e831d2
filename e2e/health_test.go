package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// The hcinit image holds /hcinit and nothing else, and runs it.
func TestImage(t *testing.T) {
	h := need(t)
	t.Parallel()
	image := "hcinit:" + h.tag

	out, err := docker("image", "inspect", image, "--format", "{{json .Config.Entrypoint}}")
	if err != nil {
		t.Fatal(err)
	}
	var ep []string
	if err := json.Unmarshal([]byte(out), &ep); err != nil || !slices.Equal(ep, []string{"/hcinit"}) {
		t.Errorf("entrypoint: have %s, want [\"/hcinit\"]", out)
	}

	if h.release != "" {
		// A release image (HCINIT_E2E_DIST) says what it is.
		out, err := docker("image", "inspect", image, "--format", "{{json .Config.Labels}}")
		var labels map[string]string
		if err != nil || json.Unmarshal([]byte(out), &labels) != nil {
			t.Fatalf("labels of %s: %q, %v", image, out, err)
		}
		for _, k := range []string{"version", "revision", "source", "licenses"} {
			if labels["org.opencontainers.image."+k] == "" {
				t.Errorf("release image %s: no label org.opencontainers.image.%s (%v)", h.release, k, labels)
			}
		}
	}

	id, err := docker("create", "--label", labelKey+"=1", "--label", labelRunKey+"="+h.run, image)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { docker("rm", "-f", id) })
	tarball, err := exec.Command("docker", "export", id).Output()
	if err != nil {
		t.Fatalf("docker export: %v", err)
	}
	// Docker adds its mount points and /.dockerenv to every container.
	added := []string{".dockerenv", "dev/", "etc/", "proc/", "sys/"}
	var files []string
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		hd, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(hd.Name, "./")
		if slices.ContainsFunc(added, func(p string) bool { return name == p || strings.HasPrefix(name, p) }) {
			continue
		}
		files = append(files, name)
		if name == "hcinit" && hd.Mode&0o111 == 0 {
			t.Errorf("/hcinit is not executable: mode %o", hd.Mode)
		}
	}
	if !slices.Equal(files, []string{"hcinit"}) {
		t.Errorf("image files: have %v, want [hcinit]", files)
	}

	out, err = docker("run", "--rm", "--network", "none", "--label", labelKey+"=1", "--label", labelRunKey+"="+h.run, image, "version")
	if err != nil || !strings.HasPrefix(out, "hcinit ") {
		t.Errorf("docker run %s version: %q, %v", image, out, err)
	}
}

// Docker's health status follows the app through hcinit: starting, healthy,
// unhealthy when the app's endpoint fails, healthy again; the clients work
// from docker exec, also from another working directory.
func TestHealthTransitions(t *testing.T) {
	h := need(t)
	t.Parallel()
	ev := watchEvents(t, h.containerName(t), "health_status")
	c := h.start(t, []string{"--network", "none"}, h.tools,
		"--interval", "500ms", "--retries", "2", "--check", "http://127.0.0.1:8080/health", "--", "/app")

	// Docker's first verdict is healthy, from starting: the engine's
	// health_status events say so whenever this test first looks (a
	// loaded machine may let Docker's first probe, 1 s after the start,
	// come before it).
	first := c.health()
	seen := c.waitHealth("healthy", settle)
	if first != "starting" && first != "healthy" {
		t.Errorf("first health status: have %q, want starting (seen %v)", first, seen)
	}
	var actions []string
	waitFor(t, settle, "Docker's health_status event", func() (bool, string) {
		actions = nil
		for _, e := range ev.list() {
			actions = append(actions, e.Action)
		}
		return len(actions) > 0, "none"
	})
	if actions[0] != "health_status: healthy" {
		t.Errorf("Docker's health events %q, want health_status: healthy first (starting → healthy; seen %v)", actions, seen)
	}

	out := c.mustExec(0, "/hcinit", "check")
	if !strings.HasPrefix(out, "healthy") {
		t.Errorf("hcinit check: have %q, want healthy", out)
	}
	st, code := c.checkJSON("-w", "/")
	if code != 0 || st.Status != "healthy" || !slices.Contains(st.kinds(), "http") {
		t.Errorf("hcinit check --json from /: exit %d, status %q, checks %v; want 0, healthy, [http]", code, st.Status, st.kinds())
	}
	for _, level := range []string{"--live", "--ready"} {
		c.mustExec(0, "/hcinit", "check", level)
	}

	c.mustExec(0, "/app", "-ctl", "fail")
	seen = appendDistinct(seen, c.waitHealth("unhealthy", settle)...)
	hs := c.inspect().State.Health
	last := hs.Log[len(hs.Log)-1]
	if last.ExitCode != 1 || !strings.Contains(last.Output, "500") {
		t.Errorf("Docker's last probe: exit %d, output %q; want 1 and the HTTP 500 hcinit saw", last.ExitCode, last.Output)
	}
	out, _, code = c.exec(nil, "/hcinit", "check")
	if code != 1 || !strings.Contains(out, "unhealthy") {
		t.Errorf("hcinit check while failing: exit %d, %q; want 1, unhealthy", code, out)
	}

	c.mustExec(0, "/app", "-ctl", "ok")
	seen = appendDistinct(seen, c.waitHealth("healthy", settle)...)
	t.Logf("health statuses seen: %v", seen)
}

// appendDistinct appends the statuses in more that differ from the one before.
func appendDistinct(seen []string, more ...string) []string {
	for _, s := range more {
		if len(seen) == 0 || seen[len(seen)-1] != s {
			seen = append(seen, s)
		}
	}
	return seen
}

// TestLayeringTimeToDetect: the README's recipe for Docker's HEALTHCHECK on
// top of hcinit (hcinit's interval × retries decide, Docker asks every
// interval with --retries=1) shows a failure in `docker inspect` within
// hcinit's interval × retries plus one Docker interval: hcinit answers
// unhealthy only after its own retries, and Docker believes that first
// unhealthy answer. Judged by the engine's record, not by wall time, which
// two loaded cores stretched from 4.8 s to 8.4 s of a 9 s bound (every
// Docker probe waits for runc exec): Docker's health_status: unhealthy event
// comes with its first failing probe, hcinit's verdict on the app's 500.
func TestLayeringTimeToDetect(t *testing.T) {
	h := need(t)
	t.Parallel()
	const interval, retries = time.Second, 3
	c := h.start(t, []string{"--network", "none", "--health-interval", "1s", "--health-timeout", "10s",
		"--health-retries", "1", "--health-start-period", "10s"}, h.tools,
		"--interval", "1s", "--retries", "3", "--check", "http://127.0.0.1:8080/health", "--", "/app")
	c.waitHealth("healthy", settle)
	ev := watchEvents(t, c.name, "health_status")
	began := time.Now()
	c.mustExec(0, "/app", "-ctl", "fail")
	var flip time.Time
	waitFor(t, settle, "Docker's health_status: unhealthy event", func() (bool, string) {
		var actions []string
		for _, e := range ev.list() {
			if e.Action == "health_status: unhealthy" {
				flip = time.Unix(0, e.TimeNano)
				return true, ""
			}
			actions = append(actions, e.Action)
		}
		return false, fmt.Sprint(actions)
	})
	budget := interval*retries + time.Second
	t.Logf("time to detect: %s (hcinit 1s × 3 + Docker 1s = %s)", flip.Sub(began).Round(100*time.Millisecond), budget)
	var failed []healthResult
	for _, p := range c.inspect().State.Health.Log {
		if p.Start.After(began) && p.ExitCode != 0 && !p.End.After(flip) {
			failed = append(failed, p)
		}
	}
	// hcinit's part: its check turned unhealthy (last_change) at its third
	// failure in a row (--retries 3), before Docker's flip. Its log keeps
	// five results: those after the change are counted off the streak.
	var st struct {
		Checks []struct {
			FailingStreak int            `json:"failing_streak"`
			LastChange    time.Time      `json:"last_change"`
			Log           []healthResult `json:"log"`
		} `json:"checks"`
	}
	out, _, _ := c.exec(nil, "/hcinit", "check", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Checks) != 1 {
		t.Fatalf("hcinit check --json: %v\n%s", err, out)
	}
	ck := st.Checks[0]
	after := 0
	for _, r := range ck.Log {
		if r.End.After(ck.LastChange) {
			after++
		}
	}
	switch {
	case !ck.LastChange.After(began) || ck.LastChange.After(flip):
		t.Errorf("hcinit's check changed at %s, want after the app failed (%s) and before Docker's flip (%s)",
			ck.LastChange.Format(time.StampMilli), began.Format(time.StampMilli), flip.Format(time.StampMilli))
	case after >= len(ck.Log):
		t.Logf("hcinit's log no longer reaches its change (%d results since): streak at the change not judged", after)
	case ck.FailingStreak-after != retries:
		t.Errorf("hcinit's check turned unhealthy at a streak of %d (now %d, %d results since), want --retries %d", ck.FailingStreak-after, ck.FailingStreak, after, retries)
	}
	// Docker's own --retries=3 would have waited for three.
	if len(failed) != 1 {
		t.Errorf("Docker turned unhealthy after %d failing probes %+v; with --retries=1 it believes hcinit's first unhealthy answer", len(failed), failed)
	} else if !strings.HasPrefix(failed[0].Output, "unhealthy") || !strings.Contains(failed[0].Output, "500") {
		t.Errorf("Docker's failing probe said %q, want hcinit's verdict on the app's HTTP 500", failed[0].Output)
	}
}
