package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// A failure explains itself: every state each task went through, the
	// update's status, the containers' events and health logs.
	rec := recordSwarm(t, svc)
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
		if t.Failed() || testing.Verbose() {
			rec.dump()
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
	// It must have gone because Docker saw it unhealthy, not for another
	// reason. Its inspect output cannot tell: Docker marks any container with
	// a health check that stops "unhealthy". The events can.
	waitFor(t, 10*time.Second, "a health_status: unhealthy event of the replaced task's container", func() (bool, string) {
		return rec.saw(first, "health_status: unhealthy"), strings.Join(rec.eventsOf(first), "\n")
	})

	// A bad update: the new task's /health always fails (the fail file is the
	// app binary itself). Swarm waits for it to be healthy, it never is, and
	// the update rolls back; the old task served all along.
	updateState := func() string {
		out, err := docker("service", "inspect", svc, "--format", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}")
		if err != nil {
			return err.Error()
		}
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
	// That holds only if Swarm records the bad task as failed: one that it
	// stopped as unhealthy while starting and that exited 0 counts as started
	// ("complete", "finished"), and a start-first update may then stop the old
	// task (see stack.yml's EXIT_CODE).
	for _, tk := range rec.tasks() {
		if slices.Contains(tk.Spec.ContainerSpec.Env, "FAIL_FILE=/app") && tk.Status.State == "complete" {
			t.Errorf("the bad update's task %s ended complete %q, want failed: Swarm counts a task stopped as unhealthy that exits 0 as started",
				short(tk.ID), tk.Status.Message)
		}
	}

	// A good update completes once its new task is healthy.
	if _, err := docker("service", "update", "--detach", "--env-add", "GREETING=hello", svc); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "the good update completed", func() (bool, string) {
		st := updateState()
		return st == "completed", st + "\n" + tasks()
	})
	// start-first: Swarm reports the update completed once the new task
	// is healthy, and stops the old one then; that one stays healthy
	// through its graceful stop (seen still running 6 s after, on a loaded
	// machine). So wait for it to go.
	var ids []string
	waitFor(t, settle, "one healthy task, a new one, after the good update", func() (bool, string) {
		ids = healthy()
		return len(ids) == 1 && ids[0] != second, fmt.Sprintf("healthy tasks %v (the one before: %s)\n%s", ids, short(second), tasks())
	})
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

// swarmTask is the part of a Swarm task (GET /tasks) a failure report shows.
type swarmTask struct {
	ID           string
	DesiredState string
	Status       struct {
		Timestamp       time.Time
		State           string
		Message         string
		Err             string
		ContainerStatus *struct {
			ContainerID string
			ExitCode    int
		}
	}
	Spec struct {
		ContainerSpec struct {
			Env []string
		}
	}
}

// swarmService is the part of a service (GET /services/ID) a report shows.
type swarmService struct {
	UpdateStatus *struct {
		State       string
		Message     string
		StartedAt   time.Time
		CompletedAt time.Time
	}
}

// swarmRecorder keeps, from a test's start, every state Swarm reported for a
// service's tasks and its update (polled), and the events of its containers
// (docker events), so a failed Swarm test shows what happened in order.
type swarmRecorder struct {
	t   *testing.T
	svc string

	mu       sync.Mutex
	timeline []string             // "15:04:05.000 what", in order
	seen     map[string]string    // task ID -> last state recorded
	last     map[string]swarmTask // task ID -> last task read
	update   string               // last update status recorded
	events   []string
}

// recordSwarm records svc until the test ends.
func recordSwarm(t *testing.T, svc string) *swarmRecorder {
	r := &swarmRecorder{t: t, svc: svc, seen: map[string]string{}, last: map[string]swarmTask{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			r.poll()
			select {
			case <-ctx.Done():
			case <-time.After(poll):
			}
		}
	}()
	// A health_status event is Docker's verdict, the one Swarm's executor
	// waits for; die carries the exit code Swarm judges a task by.
	ev := exec.CommandContext(ctx, "docker", "events", "--format", "{{json .}}",
		"--filter", "type=container", "--filter", "label=com.docker.swarm.service.name="+svc,
		"--filter", "event=create", "--filter", "event=start", "--filter", "event=health_status",
		"--filter", "event=kill", "--filter", "event=die", "--filter", "event=stop", "--filter", "event=destroy")
	out, err := ev.StdoutPipe()
	if err == nil {
		err = ev.Start()
	}
	if err != nil {
		t.Logf("docker events: %v", err)
		wg.Done()
	} else {
		go func() {
			defer wg.Done()
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				r.event(sc.Bytes())
			}
			ev.Wait()
		}()
	}
	t.Cleanup(func() { // registered before the report: runs after it
		cancel()
		wg.Wait()
	})
	return r
}

// poll records the tasks' and the update's states that changed since the last poll.
func (r *swarmRecorder) poll() {
	filters, _ := json.Marshal(map[string][]string{"service": {r.svc}})
	var tasks []swarmTask
	if err := apiGet("/tasks?filters="+url.QueryEscape(string(filters)), &tasks); err != nil {
		return
	}
	var svc swarmService
	svcErr := apiGet("/services/"+url.PathEscape(r.svc), &svc)
	now := time.Now().Format("15:04:05.000")
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, tk := range tasks {
		r.last[tk.ID] = tk
		st := "desired=" + tk.DesiredState + " state=" + tk.Status.State + " " + strconv.Quote(tk.Status.Message)
		if tk.Status.Err != "" {
			st += " err=" + strconv.Quote(tk.Status.Err)
		}
		if r.seen[tk.ID] != st {
			r.seen[tk.ID] = st
			r.timeline = append(r.timeline, fmt.Sprintf("%s task %s %s (at %s)", now, short(tk.ID), st, tk.Status.Timestamp.Format("15:04:05.000")))
		}
	}
	if svcErr == nil && svc.UpdateStatus != nil {
		u := svc.UpdateStatus.State + " " + strconv.Quote(svc.UpdateStatus.Message)
		if u != r.update {
			r.update = u
			r.timeline = append(r.timeline, now+" update "+u)
		}
	}
}

// event records one docker events line.
func (r *swarmRecorder) event(line []byte) {
	var e struct {
		Action   string
		TimeNano int64
		Actor    struct {
			ID         string
			Attributes map[string]string
		}
	}
	if json.Unmarshal(line, &e) != nil {
		return
	}
	s := time.Unix(0, e.TimeNano).Format("15:04:05.000") + " " + e.Action +
		" task " + short(e.Actor.Attributes["com.docker.swarm.task.id"]) + " container " + short(e.Actor.ID)
	for _, k := range []string{"exitCode", "signal"} {
		if v, ok := e.Actor.Attributes[k]; ok {
			s += " " + k + "=" + v
		}
	}
	r.mu.Lock()
	r.events = append(r.events, s)
	r.mu.Unlock()
}

// saw reports whether an event action happened to container id (any length
// of its prefix).
func (r *swarmRecorder) saw(id, action string) bool {
	for _, e := range r.eventsOf(id) {
		if strings.Contains(e, " "+action+" task ") {
			return true
		}
	}
	return false
}

// eventsOf returns the events recorded for container id.
func (r *swarmRecorder) eventsOf(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if strings.Contains(e, " container "+short(id)) {
			out = append(out, e)
		}
	}
	return out
}

// tasks returns the service's tasks as they are now (as far as Swarm keeps
// them: its task history retention limit).
func (r *swarmRecorder) tasks() []swarmTask {
	r.poll()
	r.mu.Lock()
	defer r.mu.Unlock()
	var tasks []swarmTask
	for _, tk := range r.last {
		tasks = append(tasks, tk)
	}
	slices.SortFunc(tasks, func(a, b swarmTask) int { return a.Status.Timestamp.Compare(b.Status.Timestamp) })
	return tasks
}

// dump logs the record, then each task's container's state and health log.
func (r *swarmRecorder) dump() {
	tasks := r.tasks()
	r.mu.Lock()
	timeline, events := slices.Clone(r.timeline), slices.Clone(r.events)
	r.mu.Unlock()
	r.t.Logf("task and update states as polled (every %s):\n  %s", poll, strings.Join(timeline, "\n  "))
	r.t.Logf("container events:\n  %s", strings.Join(events, "\n  "))
	for _, tk := range tasks {
		var env []string
		for _, e := range tk.Spec.ContainerSpec.Env {
			if strings.HasPrefix(e, "FAIL_FILE=") || strings.HasPrefix(e, "GREETING=") {
				env = append(env, e)
			}
		}
		if tk.Status.ContainerStatus == nil || tk.Status.ContainerStatus.ContainerID == "" {
			r.t.Logf("task %s %v: no container", short(tk.ID), env)
			continue
		}
		in, err := inspect(tk.Status.ContainerStatus.ContainerID)
		if err != nil {
			r.t.Logf("task %s %v: %v", short(tk.ID), env, err)
			continue
		}
		st := in.State
		r.t.Logf("task %s %v container %s: status=%s exit=%d started=%s finished=%s",
			short(tk.ID), env, short(in.ID), st.Status, st.ExitCode,
			st.StartedAt.Format("15:04:05.000"), st.FinishedAt.Format("15:04:05.000"))
		if st.Health != nil {
			r.t.Logf("  health=%s streak=%d", st.Health.Status, st.Health.FailingStreak)
			for _, p := range st.Health.Log {
				r.t.Logf("  probe %s-%s exit=%d %q", p.Start.Format("15:04:05.000"), p.End.Format("15:04:05.000"), p.ExitCode, p.Output)
			}
		}
	}
}

// apiGet decodes the engine API's answer to GET path into v.
func apiGet(path string, v any) error {
	resp, err := api.Get("http://docker/v1.41" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// short is the first 12 characters of a Docker or Swarm ID.
func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
