package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Polling an engine's state is what these tests do; the interval keeps 15
// containers' worth of polls cheap on two cores, which is also why inspect
// speaks to the engine's API instead of starting the docker CLI each time.
const poll = 200 * time.Millisecond

// settle bounds a wait for what takes seconds on a quiet machine (a
// container getting healthy, a line in its log, a signal arriving): two
// loaded cores and a dozen tests in parallel stretch that many times, and a
// passing run never waits it out.
const settle = time.Minute

// api talks to the engine's socket, for cheap polling of container state.
var api = &http.Client{
	Timeout: 10 * time.Second,
	Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", dockerSocket())
		},
	},
}

func dockerSocket() string {
	if h := os.Getenv("DOCKER_HOST"); strings.HasPrefix(h, "unix://") {
		return strings.TrimPrefix(h, "unix://")
	}
	return "/var/run/docker.sock"
}

// healthResult is one of Docker's health log entries.
type healthResult struct {
	Start, End time.Time
	ExitCode   int
	Output     string
}

// health is a container's State.Health.
type health struct {
	Status        string
	FailingStreak int
	Log           []healthResult
}

// inspected is the part of a container's inspect output the tests read.
type inspected struct {
	ID    string
	Name  string
	State struct {
		Status     string
		Running    bool
		Pid        int
		ExitCode   int
		Error      string
		StartedAt  time.Time
		FinishedAt time.Time
		Health     *health
	}
	Config struct {
		Labels map[string]string
	}
}

// inspect returns the state of container c (name or id).
func inspect(c string) (inspected, error) {
	var in inspected
	resp, err := api.Get("http://docker/v1.41/containers/" + url.PathEscape(c) + "/json")
	if err != nil {
		return in, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return in, fmt.Errorf("inspect %s: %s: %s", c, resp.Status, strings.TrimSpace(string(b)))
	}
	err = json.NewDecoder(resp.Body).Decode(&in)
	return in, err
}

// docker runs the docker CLI with a two-minute bound.
func docker(args ...string) (string, error) {
	return command(2*time.Minute, "", nil, "docker", args...)
}

// container is one container a test started; it is removed when the test ends.
type container struct {
	t    *testing.T
	name string
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// containerName is unique per run and test, and tells whose leftover it is.
func (h *harness) containerName(t *testing.T) string {
	n := unsafeName.ReplaceAllString(t.Name(), "-")
	if len(n) > 60 {
		n = n[len(n)-60:]
	}
	return "hcinit-e2e-" + h.run + "-" + strings.Trim(n, "-.")
}

// start runs image detached with the docker run options opts and the
// arguments args, labelled as this run's; it is removed (with its anonymous
// volumes) when the test ends, after its log is shown if the test failed.
func (h *harness) start(t *testing.T, opts []string, image string, args ...string) *container {
	t.Helper()
	return h.startNamed(t, h.containerName(t), opts, image, args...)
}

// startNamed is start for a second container of one test.
func (h *harness) startNamed(t *testing.T, name string, opts []string, image string, args ...string) *container {
	t.Helper()
	runArgs := append([]string{"run", "-d", "--name", name, "--label", labelKey + "=1", "--label", labelRunKey + "=" + h.run}, opts...)
	runArgs = append(runArgs, image)
	runArgs = append(runArgs, args...)
	c := &container{t: t, name: name}
	t.Cleanup(c.remove)
	if _, err := docker(runArgs...); err != nil {
		t.Fatalf("start container: %v", err)
	}
	return c
}

// adopt makes an existing container (started by compose or swarm) a
// *container of t, without removing it at the end.
func adopt(t *testing.T, name string) *container { return &container{t: t, name: name} }

func (c *container) remove() {
	if c.t.Failed() {
		c.dump()
	}
	docker("rm", "-f", "-v", c.name)
}

// dump logs what helps to understand a failure: state, health, output.
func (c *container) dump() {
	c.t.Helper()
	if in, err := inspect(c.name); err == nil {
		st := in.State
		c.t.Logf("%s: status=%s exit=%d error=%q", c.name, st.Status, st.ExitCode, st.Error)
		if st.Health != nil {
			c.t.Logf("%s: health=%s streak=%d", c.name, st.Health.Status, st.Health.FailingStreak)
			for _, r := range st.Health.Log {
				c.t.Logf("  probe %s exit=%d %q", r.Start.Format("15:04:05.000"), r.ExitCode, r.Output)
			}
		}
	}
	c.t.Logf("%s: log:\n%s", c.name, c.logs())
}

// logs returns the container's stdout and stderr, interleaved.
func (c *container) logs() string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "logs", c.name).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("docker logs: %v: %s", err, out)
	}
	return string(out)
}

// inspect returns the container's state or ends the test.
func (c *container) inspect() inspected {
	c.t.Helper()
	in, err := inspect(c.name)
	if err != nil {
		c.t.Fatal(err)
	}
	return in
}

// health returns Docker's health status of the container, "" for none.
func (c *container) health() string {
	in, err := inspect(c.name)
	if err != nil || in.State.Health == nil {
		return ""
	}
	return in.State.Health.Status
}

// waitHealth waits until Docker reports the health status want, and fails the
// test when the container stops first or timeout passes. It returns the
// distinct statuses seen on the way, in order.
func (c *container) waitHealth(want string, timeout time.Duration) []string {
	c.t.Helper()
	var seen []string
	deadline := time.Now().Add(timeout)
	for {
		in, err := inspect(c.name)
		if err != nil {
			c.t.Fatal(err)
		}
		st := ""
		if in.State.Health != nil {
			st = in.State.Health.Status
		}
		if len(seen) == 0 || seen[len(seen)-1] != st {
			seen = append(seen, st)
		}
		switch {
		case st == want:
			return seen
		case !in.State.Running:
			c.t.Fatalf("%s stopped (exit %d) while waiting for health %q; seen %v", c.name, in.State.ExitCode, want, seen)
		case time.Now().After(deadline):
			c.t.Fatalf("%s: health %q not reached in %s; seen %v", c.name, want, timeout, seen)
		}
		time.Sleep(poll)
	}
}

// waitLog waits until the container's output contains s.
func (c *container) waitLog(s string, timeout time.Duration) string {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := c.logs()
		if strings.Contains(out, s) {
			return out
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: %q not in the log after %s", c.name, s, timeout)
		}
		time.Sleep(2 * poll)
	}
}

// exec runs `docker exec [opts] c args...` and returns stdout, stderr and the
// exit status (-1 when docker itself failed to run it).
func (c *container) exec(opts []string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	a := append([]string{"exec"}, opts...)
	a = append(a, c.name)
	a = append(a, args...)
	out, err := docker(a...)
	if err != nil {
		if ce, ok := err.(*cmdError); ok {
			stderr = ce.stderr
		}
	}
	return out, stderr, exitCode(err)
}

// mustExec runs a command in the container and fails the test unless it exits
// with want.
func (c *container) mustExec(want int, args ...string) string {
	c.t.Helper()
	out, errOut, code := c.exec(nil, args...)
	if code != want {
		c.t.Fatalf("docker exec %s %s: exit %d, want %d\nstdout: %s\nstderr: %s", c.name, strings.Join(args, " "), code, want, out, errOut)
	}
	return out
}

// stop runs docker stop and returns how long the container took to die
// after the stop signal (stopTook).
func (c *container) stop(opts ...string) time.Duration {
	c.t.Helper()
	ev := watchEvents(c.t, c.name, "kill", "die")
	if _, err := docker(append(append([]string{"stop"}, opts...), c.name)...); err != nil {
		c.t.Fatal(err)
	}
	return c.stopTook(ev)
}

// status is the part of `hcinit check --json` the tests read.
type status struct {
	Status   string `json:"status"`
	Live     bool   `json:"live"`
	Ready    bool   `json:"ready"`
	ChildPID int    `json:"child_pid"`
	Notify   *struct {
		Ready  bool   `json:"ready"`
		Status string `json:"status"`
	} `json:"notify"`
	Checks []struct {
		Name   string `json:"name"`
		Kind   string `json:"kind"`
		Target string `json:"target"`
		Status string `json:"status"`
	} `json:"checks"`
}

// checkJSON runs `docker exec [opts] c /hcinit check --json` and decodes it.
func (c *container) checkJSON(opts ...string) (status, int) {
	c.t.Helper()
	out, errOut, code := c.exec(opts, "/hcinit", "check", "--json")
	var st status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		c.t.Fatalf("hcinit check --json (exit %d): %v\nstdout: %s\nstderr: %s", code, err, out, errOut)
	}
	return st, code
}

// kinds lists the kinds of the checks in st, for messages and comparisons.
func (st status) kinds() []string {
	var k []string
	for _, c := range st.Checks {
		k = append(k, c.Kind)
	}
	return k
}

// topUIDs maps each process in the container to its uid, by command line,
// through `docker top` (the host's ps; the image has none).
func (c *container) topUIDs() map[string]string {
	c.t.Helper()
	out, err := docker("top", c.name, "-o", "pid,uid,args")
	if err != nil {
		c.t.Fatal(err)
	}
	m := map[string]string{}
	for i, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if i == 0 || len(f) < 3 {
			continue
		}
		m[strings.Join(f[2:], " ")] = f[1]
	}
	return m
}

// engineEvent is one of the engine's events (GET /events).
type engineEvent struct {
	Action   string
	TimeNano int64
	Actor    struct {
		ID         string
		Attributes map[string]string
	}
}

// eventStream is api without its timeout, for the event stream.
var eventStream = &http.Client{Transport: api.Transport}

// eventLog collects the engine's events of one container as they happen.
// Streamed, not asked for afterwards: the engine keeps only its last 256
// events for a later query, and a dozen containers' health probes (three
// exec events each a second) push a stop's kill event out of that within
// seconds.
type eventLog struct {
	mu   sync.Mutex
	evs  []engineEvent
	done chan struct{}
}

// watchEvents starts collecting the events named actions of container c (a
// name or an ID; it need not exist yet) until the test ends.
func watchEvents(t *testing.T, c string, actions ...string) *eventLog {
	t.Helper()
	filters, _ := json.Marshal(map[string][]string{"container": {c}, "event": actions})
	// What happens while subscribing comes from the engine's buffer; nothing
	// from before the call: a `docker kill -s USR1` a moment before a stop
	// must not be taken for the stop's kill (stopTook takes the first).
	since := time.Now()
	q := url.Values{"since": {fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())}, "filters": {string(filters)}}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/v1.41/events?"+q.Encode(), nil)
	resp, err := eventStream.Do(req) // returns once the engine has subscribed us
	if err == nil && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	if err != nil {
		cancel()
		t.Fatalf("events of %s: %v", c, err)
	}
	l := &eventLog{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		defer resp.Body.Close()
		dec := json.NewDecoder(resp.Body)
		for {
			var e engineEvent
			if dec.Decode(&e) != nil {
				return
			}
			l.mu.Lock()
			l.evs = append(l.evs, e)
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-l.done
	})
	return l
}

// list returns the events collected so far, in order.
func (l *eventLog) list() []engineEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.evs)
}

// stopTook is how long the container took to die after the engine sent it
// the stop signal (the first kill event in ev, which watches "kill" and
// "die"), by the engine's own event times: what the container did, without
// the time the docker CLI and the API took on a loaded machine (docker
// stop's and docker-compose stop's wall time, seconds more on two loaded
// cores, dockerflake's note).
func (c *container) stopTook(ev *eventLog) time.Duration {
	c.t.Helper()
	var kill, die time.Time
	waitFor(c.t, settle, c.name+": the engine's kill and die events", func() (bool, string) {
		evs := ev.list()
		kill, die = time.Time{}, time.Time{}
		for _, e := range evs {
			at := time.Unix(0, e.TimeNano)
			switch {
			case e.Action == "kill" && kill.IsZero():
				kill = at
			case e.Action == "die" && !kill.IsZero():
				die = at
			}
		}
		return !die.IsZero(), fmt.Sprintf("%d events, kill %s, die %s", len(evs), kill.Format(time.StampMilli), die.Format(time.StampMilli))
	})
	return die.Sub(kill)
}

// waitFor polls cond until it holds or timeout passes; what names it in the
// failure, together with cond's last description of the state.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in %s; last state: %s", what, timeout, state)
		}
		time.Sleep(poll)
	}
}
