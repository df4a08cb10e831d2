package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// swarmLock serialises the Swarm tests of concurrent runs on one engine: one
// run leaving the Swarm would pull it from under the other.
const swarmLock = "/tmp/hcinit-e2e-swarm.lock"

// useSwarm makes sure the engine is a Swarm manager for the test: it
// initialises a single-node Swarm on loopback when there is none and leaves it
// (removing the networks joining made) when the test ends; an existing Swarm
// is used and left alone.
func useSwarm(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(swarmLock, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Minute, "the Swarm lock "+swarmLock, func() (bool, string) {
		return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil, "held by another e2e run"
	})
	t.Cleanup(func() { f.Close() }) // registered first: released last

	state, err := docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}")
	if err != nil {
		t.Fatal(err)
	}
	switch state {
	case "active true":
		t.Log("using the engine's existing Swarm")
		return
	case "inactive false":
	default:
		t.Fatalf("the engine's Swarm is %q; want none, or an active manager", state)
	}
	_, gwErr := docker("network", "inspect", "docker_gwbridge")
	if _, err := docker("swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", "127.0.0.1:2377"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := docker("swarm", "leave", "--force"); err != nil {
			t.Errorf("leave the Swarm: %v", err)
		}
		if gwErr != nil { // joining made it
			docker("network", "rm", "docker_gwbridge")
		}
	})
}

// A stack from examples/swarm: a task that turns unhealthy is killed and
// replaced by a new one; an update whose new task never gets healthy is
// rolled back while the old task keeps running (start-first); a good update
// completes once its new task is healthy.
func TestExampleSwarm(t *testing.T) {
	h := need(t)
	t.Parallel()
	useSwarm(t)

	stack := "hcinit-e2e-" + h.run
	svc := stack + "_api"
	h.mu.Lock()
	h.stacks = append(h.stacks, stack)
	h.mu.Unlock()
	t.Cleanup(func() { removeStack(t, stack) })
	if _, err := command(2*time.Minute, h.root, []string{"STACK=" + stack, "TAG=" + h.tag},
		"bash", filepath.Join("examples", "swarm", "deploy.sh")); err != nil {
		t.Fatal(err)
	}
	tasks := func() string {
		out, _ := docker("service", "ps", svc, "--no-trunc", "--format", "{{.Name}} {{.ID}} desired={{.DesiredState}} current={{.CurrentState}} {{.Error}}")
		return out
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("tasks:\n%s", tasks())
		}
	})
	healthy := func() []string {
		return lines(docker("ps", "-q", "--filter", "label=com.docker.swarm.service.name="+svc, "--filter", "health=healthy"))
	}
	var first string
	waitFor(t, time.Minute, "a healthy task", func() (bool, string) {
		ids := healthy()
		if len(ids) == 1 {
			first = ids[0]
		}
		return first != "", tasks()
	})

	// The task's app starts failing: Swarm kills the unhealthy task and starts
	// a new one.
	adopt(t, first).mustExec(0, "/app", "-ctl", "fail")
	var second string
	waitFor(t, time.Minute, "a new healthy task replacing the unhealthy one", func() (bool, string) {
		for _, id := range healthy() {
			if id != first {
				second = id
			}
		}
		return second != "", tasks()
	})
	all := tasks()
	t.Logf("after the first task turned unhealthy:\n%s", all)
	if n := strings.Count(all, "desired=Running"); n != 1 {
		t.Errorf("%d tasks desired running, want 1", n)
	}
	if !strings.Contains(all, "desired=Shutdown") {
		t.Errorf("the unhealthy task was not shut down")
	}
	// Swarm keeps the stopped task's container for its history: it must have
	// gone because Docker saw it unhealthy, not for another reason.
	if in, err := inspect(first); err == nil && (in.State.Running || in.State.Health == nil || in.State.Health.Status != "unhealthy") {
		t.Errorf("the replaced task's container: running=%v health=%+v; want stopped as unhealthy", in.State.Running, in.State.Health)
	}

	// A bad update: the new task's /health always fails (the fail file is the
	// app binary itself). Swarm waits for it to be healthy, it never is, and
	// the update rolls back; the old task served all along.
	updateState := func() string {
		out, _ := docker("service", "inspect", svc, "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}")
		return out
	}
	if _, err := docker("service", "update", "--detach", "--env-add", "FAIL_FILE=/app", svc); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "the bad update rolled back", func() (bool, string) {
		st := updateState()
		return st == "rollback_completed", st + "\n" + tasks()
	})
	if in, err := inspect(second); err != nil || !in.State.Running || in.State.Health == nil || in.State.Health.Status != "healthy" {
		t.Errorf("the serving task did not keep running healthy through the failed update: %+v %v", in.State, err)
	}

	// A good update completes once its new task is healthy.
	if _, err := docker("service", "update", "--detach", "--env-add", "GREETING=hello", svc); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "the good update completed", func() (bool, string) {
		st := updateState()
		return st == "completed", st + "\n" + tasks()
	})
	ids := healthy()
	if len(ids) != 1 || ids[0] == second {
		t.Errorf("after the update: healthy tasks %v, want one new one", ids)
	}
	t.Logf("tasks at the end:\n%s", tasks())
}

// removeStack removes the stack and waits until its containers and networks
// are gone, so leaving the Swarm afterwards strands nothing.
func removeStack(t *testing.T, stack string) {
	docker("stack", "rm", stack)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		c := lines(docker("ps", "-aq", "--filter", "label=com.docker.stack.namespace="+stack))
		n := lines(docker("network", "ls", "-q", "--filter", "label=com.docker.stack.namespace="+stack))
		if len(c) == 0 && len(n) == 0 {
			return
		}
		if len(n) > 0 && len(c) == 0 {
			docker(append([]string{"network", "rm"}, n...)...)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Errorf("stack %s: containers or networks still there after a minute", stack)
}
