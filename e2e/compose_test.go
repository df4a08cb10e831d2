package e2e

import (
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"
)

// composeFile is the example the README's Compose snippet is copied from.
const composeFile = "examples/compose/docker-compose.yml"

// compose returns the Compose command: docker-compose (v1, Debian's) when
// installed, else the docker compose plugin.
func compose() []string {
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}
	}
	return []string{"docker", "compose"}
}

func composeRun(root, project, tag string, timeout time.Duration, args ...string) (string, error) {
	c := compose()
	a := append(c[1:], "-p", project, "-f", filepath.Join(root, composeFile))
	return command(timeout, root, []string{"TAG=" + tag}, c[0], append(a, args...)...)
}

func composeDown(root, project string) {
	composeRun(root, project, "dev", 2*time.Minute, "down", "-v", "--remove-orphans", "-t", "2")
}

// Compose starts web only after api, which starts slowly, is healthy: web's
// start time is after the end of api's first successful probe.
func TestExampleCompose(t *testing.T) {
	h := need(t)
	t.Parallel()
	project := "hcinit-e2e-" + h.run + "-compose"
	h.mu.Lock()
	h.projects = append(h.projects, project)
	h.mu.Unlock()
	t.Cleanup(func() { composeDown(h.root, project) })

	// Docker keeps the last five probes only: collect api's health log while
	// `up` runs, so the first success is known for sure.
	apiName := project + "_api_1"
	probes := map[time.Time]healthResult{}
	var mu sync.Mutex
	done := make(chan struct{})
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			if in, err := inspect(apiName); err == nil && in.State.Health != nil {
				mu.Lock()
				for _, r := range in.State.Health.Log {
					probes[r.Start] = r
				}
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-time.After(poll / 2):
			}
		}
	}()
	_, err := composeRun(h.root, project, h.tag, 3*time.Minute, "up", "-d")
	close(done)
	<-polled
	if err != nil {
		t.Fatalf("compose up: %v", err)
	}
	api, web := adopt(t, apiName), adopt(t, project+"_web_1")
	t.Cleanup(func() {
		if t.Failed() {
			api.dump()
			web.dump()
		}
	})
	apiIn, webIn := api.inspect(), web.inspect()
	var log []healthResult
	for _, r := range probes {
		log = append(log, r)
	}
	sort.Slice(log, func(i, j int) bool { return log[i].Start.Before(log[j].Start) })
	firstOK := -1
	for i, r := range log {
		if r.ExitCode == 0 {
			firstOK = i
			break
		}
	}
	if firstOK < 0 {
		t.Fatalf("api: no successful probe among %d seen; web started at %s", len(log), webIn.State.StartedAt)
	}
	ok := log[firstOK]
	t.Logf("api started %s; %d failing probes while it started slowly; first success ended %s; web started %s",
		apiIn.State.StartedAt.Format("15:04:05.000"), firstOK, ok.End.Format("15:04:05.000"), webIn.State.StartedAt.Format("15:04:05.000"))
	if firstOK == 0 {
		t.Errorf("api's first probe already passed: STARTUP_DELAY did not make it start slowly, so the wait proves nothing")
	}
	if !webIn.State.StartedAt.After(ok.End) {
		t.Errorf("web started at %s, before api's first successful probe ended at %s",
			webIn.State.StartedAt.Format("15:04:05.000"), ok.End.Format("15:04:05.000"))
	}
	if d := webIn.State.StartedAt.Sub(apiIn.State.StartedAt); d < 3*time.Second {
		t.Errorf("web started %s after api, want ≥ api's 3s STARTUP_DELAY", d)
	}
	web.waitHealth("healthy", settle)
}
