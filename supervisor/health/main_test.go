package health

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/run"
	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/hcclient"
)

func TestMain(m *testing.M) {
	if os.Getenv("HEALTH_TEST_HELPER") == "check" {
		os.Exit(checkClient(os.Args[1:], os.Stdout))
	}
	if os.Getenv("HEALTH_TEST_HELPER") == "userns" {
		os.Exit(usernsMain(os.Args[1]))
	}
	if os.Getenv("HEALTH_TEST_HELPER") == "hold" {
		os.Exit(holdMain(os.Args[1], os.Args[2]))
	}
	goleak.VerifyTestMain(m)
}

// tlog sends a logger's output to t.Log until the test ends.
type tlog struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *tlog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func testLogger(t *testing.T) *logrus.Logger {
	w := &tlog{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	l := logrus.New()
	l.SetOutput(w)
	l.SetLevel(logrus.DebugLevel)
	return l
}

// shortDir returns a directory with a path short enough for sun_path.
func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "hc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// harness is a Monitor running in the background for one test.
type harness struct {
	*Monitor
	sock string
	dir  string
}

// start creates and runs a Monitor; prepare may change its checks before
// Execute. The Monitor is interrupted, and must have returned, by cleanup.
func start(t *testing.T, cfg Config, prepare func(*Monitor)) *harness {
	t.Helper()
	dir := shortDir(t)
	if cfg.Socket == "" {
		cfg.Socket = filepath.Join(dir, "hc.sock")
	}
	if cfg.RuntimeDir == "" {
		cfg.RuntimeDir = filepath.Join(dir, "run")
	}
	if cfg.Log == nil {
		cfg.Log = testLogger(t)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if prepare != nil {
		prepare(m)
	}
	done := make(chan error, 1)
	go func() { done <- runActors(m) }()
	t.Cleanup(func() {
		m.Interrupt(nil)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("actors: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("the actors did not return within 5s of Interrupt")
		}
	})
	return &harness{Monitor: m, sock: cfg.Socket, dir: dir}
}

// runActors runs every actor of m as cmd/hcinit's run.Group does, then Close.
func runActors(m *Monitor) error {
	var g run.Group
	g.Add(m.RunChecks, m.Interrupt)
	for _, ln := range m.Sockets() {
		g.Add(func() error { return m.ServeSocket(ln) }, m.Interrupt)
	}
	g.Add(m.RunNotify, m.Interrupt)
	g.Add(m.ServeHTTP, m.Interrupt)
	g.Add(m.Watch, m.Interrupt)
	err := g.Run()
	m.Close()
	return err
}

// checkClient is what these tests need of `hcinit check --socket ADDR
// [--timeout D] [--json]` (the command lives in cmd/hcinit and is tested
// there): it prints the reply, or "unhealthy: " and why there is none, and
// returns 0 when healthy, else 1.
func checkClient(args []string, stdout io.Writer) int {
	addr, timeout, word := "", 5*time.Second, wordPing
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--socket":
			i++
			addr = args[i]
		case "--timeout":
			i++
			timeout, _ = time.ParseDuration(args[i])
		case "--json":
			word = wordStatus
		}
	}
	reply, err := hcclient.Ask(time.Now().Add(timeout), []string{addr}, word, hcclient.MaxStatus)
	if err != nil {
		reply = "unhealthy: " + err.Error()
	}
	fmt.Fprintln(stdout, reply)
	var st Status
	if reply == common.HealthcheckIPCResponse || word == wordStatus && json.Unmarshal([]byte(reply), &st) == nil && st.Overall == StatusHealthy {
		return 0
	}
	return 1
}

// waitFor polls cond (tests only) until it holds or the timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) ask(t *testing.T, word string) string {
	t.Helper()
	reply, err := hcclient.Ask(time.Now().Add(3*time.Second), []string{h.sock}, word, hcclient.MaxStatus)
	if err != nil {
		t.Fatalf("ask %s: %v", word, err)
	}
	return reply
}

func (h *harness) check(name string) *check {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.checks {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}

func (h *harness) checkStatus(name string) CheckStatus {
	for _, c := range h.Status().Checks {
		if c.Name == name {
			return c
		}
	}
	return CheckStatus{}
}
