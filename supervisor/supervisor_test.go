package supervisor

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oklog/run"
	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// The tests below run the supervisor in this process: the child actor, the
// reaper and the signal actor, under the race detector. Signals are injected
// into the channel hcinit's early subscription would feed.

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// harness runs one Supervisor with injectable signals.
type harness struct {
	t    *testing.T
	sigs chan os.Signal
	done chan int
}

func start(t *testing.T, cfg Config) *harness {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	h := &harness{t: t, sigs: make(chan os.Signal, 16), done: make(chan int, 1)}
	go func() { h.done <- runGroup(t, cfg, h.sigs, log) }()
	t.Cleanup(func() {
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			t.Error("Run still running at the end of the test")
		}
	})
	return h
}

// runGroup runs the reaper and the child actor as cmd/hcinit's group does,
// and returns the exit status.
func runGroup(t *testing.T, cfg Config, sigs <-chan os.Signal, log *logrus.Logger) int {
	return runGroupWith(t, cfg, sigs, log, nil)
}

// runGroupWith is runGroup with a health side.
func runGroupWith(t *testing.T, cfg Config, sigs <-chan os.Signal, log *logrus.Logger, obs Observer) int {
	id, err := ResolveUser(cfg.User)
	if err != nil {
		t.Error(err)
		return -1
	}
	r := reaper.New(nil)
	s := New(cfg, Deps{Reaper: r, Identity: id, Observer: obs, Log: log})
	s.tty = false // whatever the terminal go test runs on
	var g run.Group
	{
		stop := make(chan struct{})
		g.Add(func() error { r.Run(stop); return nil }, func(error) { close(stop) })
	}
	g.Add(func() error { return s.Run(sigs) }, s.Interrupt)
	return ExitStatus(g.Run())
}

func (h *harness) exit(d time.Duration) (int, error) {
	select {
	case code := <-h.done:
		h.done <- code // for Cleanup
		return code, nil
	case <-time.After(d):
		return 0, errors.New("Run still running after " + d.String())
	}
}

func config(command ...string) Config {
	c := Defaults()
	c.Command = command
	c.StopTimeout = 5 * time.Second
	return c
}

// fifo makes a named pipe the child writes "ready" into once its traps are set.
func fifo(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "ready")
	if err := unix.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitReady reads the fifo without blocking for longer than d.
func waitReady(t *testing.T, path string, d time.Duration) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(d)
	buf := make([]byte, 64)
	for time.Now().Before(deadline) {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(time.Until(deadline)/time.Millisecond)+1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			t.Fatal(err)
		}
		if n > 0 {
			if k, _ := unix.Read(fd, buf); k > 0 && strings.Contains(string(buf[:k]), "ready") {
				return
			}
		}
	}
	t.Fatalf("child not ready after %s", d)
}

// trapper is a shell that exits 10 on USR1, 11 on TERM, 12 on HUP, and
// announces itself on the fifo once its traps are set.
func trapper(ready string) []string {
	return []string{"sh", "-c", `trap 'exit 10' USR1; trap 'exit 11' TERM; trap 'exit 12' HUP
echo ready > ` + ready + `
while :; do sleep 1 & wait $!; done`}
}

func TestRunExitCode(t *testing.T) {
	for _, tc := range []struct {
		cmd  []string
		mapz map[int]bool
		want int
	}{
		{[]string{"sh", "-c", "exit 0"}, nil, 0},
		{[]string{"sh", "-c", "exit 7"}, nil, 7},
		{[]string{"sh", "-c", "exit 255"}, nil, 255},
		{[]string{"sh", "-c", "kill -USR2 $$"}, nil, 128 + int(unix.SIGUSR2)},
		{[]string{"sh", "-c", "exit 143"}, map[int]bool{143: true}, 0},
		{[]string{"/nonexistent/cmd"}, nil, 127},
		{[]string{"hcinit-test-no-such-cmd"}, nil, 127},
		{[]string{t.TempDir()}, nil, 126},
	} {
		cfg := config(tc.cmd...)
		if tc.mapz != nil {
			cfg.MapToZero = tc.mapz
		}
		h := start(t, cfg)
		code, err := h.exit(10 * time.Second)
		if err != nil {
			t.Fatalf("%q: %v", tc.cmd, err)
		}
		if code != tc.want {
			t.Errorf("%q: exit %d, want %d", tc.cmd, code, tc.want)
		}
	}
}

func TestRunForwards(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rewrite map[unix.Signal]unix.Signal
		send    []os.Signal
		want    int
	}{
		{"USR1", nil, []os.Signal{unix.SIGUSR1}, 10},
		{"TERM stops", nil, []os.Signal{unix.SIGTERM}, 11},
		{"rewrite TERM to HUP", map[unix.Signal]unix.Signal{unix.SIGTERM: unix.SIGHUP}, []os.Signal{unix.SIGTERM}, 12},
		{"drop USR1", map[unix.Signal]unix.Signal{unix.SIGUSR1: 0}, []os.Signal{unix.SIGUSR1, unix.SIGHUP}, 12},
		// The kernel raises SIGPIPE for hcinit's own writes; sh would die of it (141).
		{"PIPE never forwarded", nil, []os.Signal{unix.SIGPIPE, unix.SIGHUP}, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready := fifo(t)
			cfg := config(trapper(ready)...)
			if tc.rewrite != nil {
				cfg.Rewrite = tc.rewrite
			}
			h := start(t, cfg)
			waitReady(t, ready, 10*time.Second)
			for _, s := range tc.send {
				h.sigs <- s
			}
			code, err := h.exit(10 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.want {
				t.Errorf("exit %d, want %d", code, tc.want)
			}
		})
	}
}

// A child that ignores TERM is killed when the grace is over; a second TERM
// kills it at once.
func TestRunStop(t *testing.T) {
	for _, tc := range []struct {
		name            string
		grace           time.Duration
		sends           int
		atLeast, within time.Duration
	}{
		{"grace", 300 * time.Millisecond, 1, 300 * time.Millisecond, 5 * time.Second},
		{"second TERM", 30 * time.Second, 2, 0, 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready := fifo(t)
			cfg := config("sh", "-c", `trap '' TERM; echo ready > `+ready+`; while :; do sleep 1 & wait $!; done`)
			cfg.StopTimeout = tc.grace
			h := start(t, cfg)
			waitReady(t, ready, 10*time.Second)
			sent := time.Now()
			for range tc.sends {
				h.sigs <- syscall.SIGTERM
			}
			code, err := h.exit(tc.within)
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(sent); took < tc.atLeast {
				t.Errorf("killed after %s, inside the %s grace", took, tc.grace)
			}
			if code != 128+int(unix.SIGKILL) {
				t.Errorf("exit %d, want 137", code)
			}
		})
	}
}

// A TERM that arrives before the child exists is delivered once it does.
func TestRunTermBeforeStart(t *testing.T) {
	ready := fifo(t)
	cfg := config(trapper(ready)...)
	log := logrus.New()
	log.SetOutput(io.Discard)
	sigs := make(chan os.Signal, 1)
	sigs <- syscall.SIGTERM // queued before Run starts anything
	done := make(chan int, 1)
	go func() { done <- runGroup(t, cfg, sigs, log) }()
	select {
	case code := <-done:
		// sh may get TERM before its trap is set (143) or after (11): either
		// way it got it, and Run did not hang.
		if code != 143 && code != 11 {
			t.Errorf("exit %d, want 143 or 11", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("TERM before the child existed was lost")
	}
}

// --restart on-failure starts the child again until it succeeds.
func TestRunRestart(t *testing.T) {
	count := filepath.Join(t.TempDir(), "count")
	cfg := config("sh", "-c", `echo run >> `+count+`; [ "$(wc -l < `+count+`)" -ge 3 ] && exit 0; exit 1`)
	cfg.Restart = RestartOnFailure
	cfg.RestartDelay, cfg.RestartMaxDelay = 20*time.Millisecond, 40*time.Millisecond
	h := start(t, cfg)
	code, err := h.exit(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(count)
	if code != 0 || strings.Count(string(b), "run") != 3 {
		t.Errorf("exit %d after %d runs, want 0 after 3", code, strings.Count(string(b), "run"))
	}
}

// unhealthyObserver is a health side that reports the child unhealthy on demand.
type unhealthyObserver struct{ c chan struct{} }

func (unhealthyObserver) ChildStarted(int)             {}
func (unhealthyObserver) ChildExited(int)              {}
func (unhealthyObserver) Stopping()                    {}
func (o unhealthyObserver) Unhealthy() <-chan struct{} { return o.c }

// An unhealthy child that is being restarted (--on-unhealthy restart) and
// dies on its own during --drain-delay: the child started in its place must
// not get the stop signal meant for the old one. The old code left the drain
// timer armed across the restart and sent the new child SIGTERM (exit 11
// here) when it fired.
func TestRunUnhealthyRestartDrainNotInherited(t *testing.T) {
	dir := t.TempDir()
	runs, die, ready := filepath.Join(dir, "runs"), filepath.Join(dir, "die"), fifo(t)
	// The first run exits once the test creates "die"; the second traps TERM.
	cfg := config("sh", "-c", `echo run >> `+runs+`
if [ "$(wc -l < `+runs+`)" -eq 1 ]; then
	echo ready > `+ready+`
	while [ ! -e `+die+` ]; do sleep 0.05; done
	exit 1
fi
trap 'exit 11' TERM; trap 'exit 12' HUP
echo ready > `+ready+`
while :; do sleep 1 & wait $!; done`)
	cfg.OnUnhealthy, cfg.DrainDelay, cfg.StopTimeout = OnUnhealthyRestart, 2*time.Second, 0
	cfg.RestartDelay = 20 * time.Millisecond
	log := logrus.New()
	log.SetOutput(io.Discard)
	obs := unhealthyObserver{make(chan struct{}, 1)}
	sigc := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() { done <- runGroupWith(t, cfg, sigc, log, obs) }()
	waitReady(t, ready, 10*time.Second)
	obs.c <- struct{}{}
	unhealthyAt := time.Now()
	if err := os.WriteFile(die, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ready, 10*time.Second) // the second run
	if time.Since(unhealthyAt) > cfg.DrainDelay {
		t.Skip("the restart took longer than the drain delay: nothing to tell")
	}
	// Past the end of the drain delay, plus a margin, the new child must run on.
	time.Sleep(time.Until(unhealthyAt.Add(cfg.DrainDelay + time.Second)))
	sigc <- unix.SIGHUP
	select {
	case code := <-done:
		if code != 12 {
			t.Errorf("exit %d, want 12: the restarted child got the old stop signal (11 = TERM)", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running")
	}
}

// --on-unhealthy exit: hcinit stopped the child itself, as unhealthy. A child
// that then shuts down cleanly (exit 0) must not make hcinit exit 0, or
// Docker's --restart on-failure, Swarm's on-failure and Kubernetes' OnFailure
// would count the failed container as done (see notes/swarm.md): hcinit exits
// 128+N of the stop signal it sent, what an app without a handler reports. A
// non-zero status is the child's own and stays. The old code exited 0.
func TestRunUnhealthyExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		trap string
		stop unix.Signal
		want int
	}{
		{"clean exit after TERM", "exit 0", unix.SIGTERM, 143},
		{"clean exit after --stop-signal QUIT", "exit 0", unix.SIGQUIT, 128 + int(unix.SIGQUIT)},
		{"a status of its own", "exit 3", unix.SIGTERM, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready := fifo(t)
			name := strings.TrimPrefix(sigs.Name(tc.stop), "SIG")
			cfg := config("sh", "-c", `trap '`+tc.trap+`' `+name+`
echo ready > `+ready+`
while :; do sleep 1 & wait $!; done`)
			cfg.OnUnhealthy, cfg.StopSignal = OnUnhealthyExit, tc.stop
			log := logrus.New()
			log.SetOutput(io.Discard)
			obs := unhealthyObserver{make(chan struct{}, 1)}
			done := make(chan int, 1)
			go func() { done <- runGroupWith(t, cfg, make(chan os.Signal), log, obs) }()
			waitReady(t, ready, 10*time.Second)
			obs.c <- struct{}{}
			select {
			case code := <-done:
				if code != tc.want {
					t.Errorf("exit %d, want %d", code, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run still running")
			}
		})
	}
}
