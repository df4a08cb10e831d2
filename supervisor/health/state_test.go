package health

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestStateRules replays Docker's rules on one check with fixed times.
func TestStateRules(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	type step struct {
		start      float64
		code       int
		wantStatus State
		wantStreak int
	}
	tests := []struct {
		name        string
		startPeriod time.Duration
		steps       []step
	}{
		{"never succeeds: starting to unhealthy after retries", 0, []step{
			{10, 1, StatusStarting, 1}, {20, 1, StatusStarting, 2}, {30, 1, StatusUnhealthy, 3}, {40, 1, StatusUnhealthy, 4}}},
		{"start period ignores failures that start inside it", 25 * time.Second, []step{
			{10, 1, StatusStarting, 0}, {20, 1, StatusStarting, 0}, {30, 1, StatusStarting, 1},
			{40, 1, StatusStarting, 2}, {50, 1, StatusUnhealthy, 3}}},
		{"one success: healthy, streak 0; start period no longer applies", 100 * time.Second, []step{
			{10, 1, StatusStarting, 0}, {20, 0, StatusHealthy, 0}, {30, 1, StatusHealthy, 1},
			{40, 1, StatusHealthy, 2}, {50, 1, StatusUnhealthy, 3}, {60, 0, StatusHealthy, 0}}},
		{"timeouts (-1) are failures", 0, []step{
			{10, -1, StatusStarting, 1}, {20, 0, StatusHealthy, 0}, {30, -1, StatusHealthy, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s state
			s.reset()
			for i, st := range tt.steps {
				s.record(Result{Start: at(st.start), End: at(st.start + 0.1), ExitCode: st.code}, t0, tt.startPeriod, 3, 1, false)
				if s.status != st.wantStatus || s.streak != st.wantStreak {
					t.Fatalf("step %d (t=%vs code %d): have %s/%d, want %s/%d", i, st.start, st.code, s.status, s.streak, st.wantStatus, st.wantStreak)
				}
			}
		})
	}
}

func TestStateKeepsFiveResultsAndCapsOutput(t *testing.T) {
	var s state
	s.reset()
	big := string(make([]byte, 10000))
	for i := 0; i < 12; i++ {
		s.record(Result{ExitCode: i, Output: fmt.Sprint(i)}, time.Time{}, 0, 3, 1, false)
	}
	s.record(Result{Output: big}, time.Time{}, 0, 3, 1, false)
	if len(s.log) != 5 {
		t.Fatalf("kept %d results, want 5", len(s.log))
	}
	if s.log[0].Output != "8" || len(s.log[4].Output) != maxOutput {
		t.Errorf("log = %q…, last output %d bytes", s.log[0].Output, len(s.log[4].Output))
	}
}

func TestFatalFailureIsUnhealthyAtOnce(t *testing.T) {
	var s state
	s.reset()
	s.record(Result{Start: time.Now(), ExitCode: 1}, time.Now(), time.Hour, 3, 1, true)
	if s.status != StatusUnhealthy || s.streak != 3 {
		t.Errorf("have %s/%d, want unhealthy/3", s.status, s.streak)
	}
}

// fakeProbe records when runs start and end and how many overlap.
type fakeProbe struct {
	mu      sync.Mutex
	starts  []time.Time
	ends    []time.Time
	active  atomic.Int32
	overlap atomic.Int32
	delay   time.Duration
	code    atomic.Int32
}

func (f *fakeProbe) probe(ctx context.Context) outcome {
	if f.active.Add(1) > 1 {
		f.overlap.Add(1)
	}
	defer f.active.Add(-1)
	f.mu.Lock()
	f.starts = append(f.starts, time.Now())
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
		}
	}
	f.mu.Lock()
	f.ends = append(f.ends, time.Now())
	f.mu.Unlock()
	return outcome{code: int(f.code.Load()), output: "fake"}
}

func (f *fakeProbe) runs() ([]time.Time, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.starts...), append([]time.Time(nil), f.ends...)
}

// checkFunc is a checker made of a function.
type checkFunc func(context.Context) outcome

func (f checkFunc) Check(ctx context.Context) outcome { return f(ctx) }

func withFake(f *fakeProbe) func(*Monitor) {
	return func(m *Monitor) { m.checks[0].checker = checkFunc(f.probe) }
}

// TestScheduleFirstRunAtOnce: the first run follows ChildStarted at once
// (kubelet's initialDelaySeconds 0), not one interval later (here an hour),
// and again after a restart.
func TestScheduleFirstRunAtOnce(t *testing.T) {
	f := &fakeProbe{}
	h := start(t, Config{Specs: []string{"process,interval=1h,start-interval=1h"}}, withFake(f))
	h.ChildStarted(os.Getpid())
	waitFor(t, "the first run", 5*time.Second, func() bool { s, _ := f.runs(); return len(s) == 1 })
	waitFor(t, "healthy", 5*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
	h.ChildExited(0)
	h.ChildStarted(os.Getpid())
	waitFor(t, "the first run of the restarted child", 5*time.Second, func() bool { s, _ := f.runs(); return len(s) == 2 })
}

// TestScheduleIntervalNoOverlap: after the first run, each starts one
// interval after the previous one ended (Docker).
func TestScheduleIntervalNoOverlap(t *testing.T) {
	f := &fakeProbe{delay: 60 * time.Millisecond}
	h := start(t, Config{Specs: []string{"process,interval=40ms"}}, withFake(f))
	time.Sleep(100 * time.Millisecond)
	if s, _ := f.runs(); len(s) != 0 {
		t.Fatalf("%d runs before ChildStarted, want 0", len(s))
	}
	born := time.Now()
	h.ChildStarted(os.Getpid())
	waitFor(t, "6 runs", 3*time.Second, func() bool { s, _ := f.runs(); return len(s) >= 6 })
	starts, ends := f.runs()
	if starts[0].Before(born) {
		t.Errorf("a run before ChildStarted")
	}
	for i := 1; i < len(starts) && i < len(ends); i++ {
		if gap := starts[i].Sub(ends[i-1]); gap < 35*time.Millisecond {
			t.Errorf("run %d started %s after run %d ended, want ≥ interval", i, gap, i-1)
		}
	}
	if n := f.overlap.Load(); n != 0 {
		t.Errorf("%d overlapping runs", n)
	}
}

func TestScheduleStartIntervalInsideStartPeriod(t *testing.T) {
	f := &fakeProbe{}
	f.code.Store(1)
	h := start(t, Config{Specs: []string{"process,interval=1h,start-period=400ms,start-interval=20ms"}}, withFake(f))
	born := time.Now()
	h.ChildStarted(os.Getpid())
	time.Sleep(600 * time.Millisecond)
	starts, _ := f.runs()
	inside, after := 0, 0
	for _, s := range starts {
		if s.Sub(born) < 400*time.Millisecond {
			inside++
		} else {
			after++
		}
	}
	if inside < 8 {
		t.Errorf("%d runs inside the start period at start-interval 20ms, want ≥ 8", inside)
	}
	// The first run after the start period, then the interval (1h) applies.
	if after > 1 {
		t.Errorf("%d runs after the start period with interval 1h, want ≤ 1", after)
	}
	cs := h.checkStatus("process")
	if cs.FailingStreak > 1 {
		t.Errorf("failing streak %d: failures inside the start period must not count", cs.FailingStreak)
	}
	if cs.Status != StatusStarting {
		t.Errorf("status %s, want starting", cs.Status)
	}
}

func TestRetriesResetAndHistory(t *testing.T) {
	f := &fakeProbe{}
	f.code.Store(1)
	h := start(t, Config{Specs: []string{"process,interval=15ms,retries=3"}}, withFake(f))
	h.ChildStarted(os.Getpid())
	select {
	case <-h.Unhealthy():
	case <-time.After(3 * time.Second):
		t.Fatal("no Unhealthy after 3 failures")
	}
	cs := h.checkStatus("process")
	if cs.Status != StatusUnhealthy || cs.FailingStreak < 3 {
		t.Fatalf("have %s/%d, want unhealthy/≥3", cs.Status, cs.FailingStreak)
	}
	if have := h.ask(t, "ping"); have != "unhealthy: check process: fake" {
		t.Errorf("ping = %q", have)
	}
	f.code.Store(0)
	waitFor(t, "healthy", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
	if cs := h.checkStatus("process"); cs.FailingStreak != 0 {
		t.Errorf("streak %d after a success, want 0", cs.FailingStreak)
	}
	waitFor(t, "5 results", 3*time.Second, func() bool { s, _ := f.runs(); return len(s) >= 8 })
	if n := len(h.checkStatus("process").Log); n != 5 {
		t.Errorf("log holds %d results, want 5", n)
	}

	// A restarted child starts over: no result of the old child is kept, and
	// it is starting until it failed 3 times. Its first probe runs at once, so
	// a result of its own may already be there.
	f.code.Store(1)
	restart := time.Now()
	h.ChildStarted(os.Getpid())
	st := h.Status()
	for _, r := range st.Checks[0].Log {
		if r.Start.Before(restart) {
			t.Errorf("after ChildStarted: a result of the old child kept (%s before the restart)", restart.Sub(r.Start))
		}
	}
	if len(st.Checks[0].Log) < 3 && st.Overall != StatusStarting {
		t.Errorf("after ChildStarted: %s with %d results, want starting", st.Overall, len(st.Checks[0].Log))
	}
	select {
	case <-h.Unhealthy():
	case <-time.After(3 * time.Second):
		t.Fatal("no Unhealthy after the restart's failures")
	}
}

func TestTimeoutRecordsMinusOne(t *testing.T) {
	f := &fakeProbe{delay: time.Hour}
	f.code.Store(1)
	h := start(t, Config{Specs: []string{"process,interval=10ms,timeout=30ms"}}, withFake(f))
	h.ChildStarted(os.Getpid())
	waitFor(t, "a result", 3*time.Second, func() bool { return len(h.checkStatus("process").Log) > 0 })
	r := h.checkStatus("process").Log[0]
	if r.ExitCode != -1 || r.End.Sub(r.Start) > time.Second {
		t.Errorf("result %+v, want exit -1 after ~30ms", r)
	}
}

func TestChildExitedStoppingAndReadiness(t *testing.T) {
	f := &fakeProbe{}
	h := start(t, Config{Specs: []string{"process,interval=10ms,success-threshold=3"}}, withFake(f))
	h.ChildStarted(os.Getpid())
	waitFor(t, "healthy", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
	waitFor(t, "ready after 3 successes", 3*time.Second, func() bool { return h.Status().Ready })
	if have := h.ask(t, "ready"); have != "healthy" {
		t.Errorf("ready = %q", have)
	}
	h.Stopping()
	if have := h.ask(t, "ready"); have != "not ready: stopping" {
		t.Errorf("ready while stopping = %q", have)
	}
	if have := h.ask(t, "live"); have != "healthy" {
		t.Errorf("live while stopping = %q", have)
	}
	h.ChildExited(143)
	st := h.Status()
	if st.Overall != StatusUnhealthy || st.Live || st.Ready || !st.ChildExited || st.ExitCode != 143 {
		t.Errorf("after ChildExited: %+v", st)
	}
	if have := h.ask(t, "ping"); have != "unhealthy: child exited with code 143" {
		t.Errorf("ping = %q", have)
	}
	n, _ := f.runs()
	time.Sleep(50 * time.Millisecond)
	if m, _ := f.runs(); len(m) > len(n)+1 {
		t.Errorf("%d runs after the child exited, want none", len(m)-len(n))
	}
}

func TestLivenessOnlyFromLiveChecks(t *testing.T) {
	ready := &fakeProbe{}
	ready.code.Store(1)
	h := start(t, Config{Specs: []string{"process,level=live,interval=10ms", "process,name=r,level=ready,interval=10ms,retries=1"}},
		func(m *Monitor) {
			m.checks[1].checker = checkFunc(ready.probe)
			m.checks[0].checker = checkFunc((&fakeProbe{}).probe)
		})
	h.ChildStarted(os.Getpid())
	waitFor(t, "r unhealthy", 3*time.Second, func() bool { return h.checkStatus("r").Status == StatusUnhealthy })
	st := h.Status()
	if !st.Live || st.Ready || st.Overall != StatusUnhealthy {
		t.Errorf("live %v ready %v status %s, want live, not ready, unhealthy", st.Live, st.Ready, st.Overall)
	}
}

// TestUnhealthyOnlyFromLiveChecks: --on-unhealthy acts on Unhealthy, so a
// failing check of level ready (Kubernetes' readiness) must not send on it;
// a live one still does.
func TestUnhealthyOnlyFromLiveChecks(t *testing.T) {
	live, ready := &fakeProbe{}, &fakeProbe{}
	ready.code.Store(1)
	h := start(t, Config{Specs: []string{"process,name=l,level=live,interval=10ms,retries=1", "process,name=r,level=ready,interval=10ms,retries=1"}},
		func(m *Monitor) {
			m.checks[0].checker = checkFunc(live.probe)
			m.checks[1].checker = checkFunc(ready.probe)
		})
	h.ChildStarted(os.Getpid())
	waitFor(t, "r unhealthy", 3*time.Second, func() bool { return h.checkStatus("r").Status == StatusUnhealthy })
	select {
	case <-h.Unhealthy():
		t.Fatal("Unhealthy from a check of level ready")
	case <-time.After(100 * time.Millisecond): // ten more runs of r
	}
	live.code.Store(1)
	select {
	case <-h.Unhealthy():
	case <-time.After(3 * time.Second):
		t.Fatal("no Unhealthy from a failing check of level live")
	}
}

// TestChildExitedEndsProbeInFlight: a probe still running when the child
// exits is cancelled (an exec probe's processes would otherwise keep hcinit
// waiting for its tree), and its result, about a child that is gone, is dropped.
func TestChildExitedEndsProbeInFlight(t *testing.T) {
	f := &fakeProbe{delay: time.Hour}
	h := start(t, Config{Specs: []string{"process,interval=10ms,timeout=1h"}}, withFake(f))
	h.ChildStarted(os.Getpid())
	waitFor(t, "a run in flight", 3*time.Second, func() bool { s, _ := f.runs(); return len(s) == 1 })
	exited := time.Now()
	h.ChildExited(0)
	waitFor(t, "the run to end", time.Second, func() bool { _, e := f.runs(); return len(e) == 1 })
	_, ends := f.runs()
	if d := ends[0].Sub(exited); d > 500*time.Millisecond {
		t.Errorf("probe ended %s after ChildExited, want at once", d)
	}
	if log := h.checkStatus("process").Log; len(log) != 0 {
		t.Errorf("recorded %+v from a run cancelled with its child, want nothing", log)
	}
}

// TestReadinessThresholds: kubelet's worker (pkg/kubelet/prober/worker.go):
// not ready until the first success, ready after success-threshold successes
// in a row, unready again only after retries failures in a row.
func TestReadinessThresholds(t *testing.T) {
	var s state
	s.reset()
	rec := func(code int) { s.record(Result{ExitCode: code}, time.Time{}, 0, 3, 2, false) }
	steps := []struct {
		code  int
		ready bool
	}{
		{1, false}, {0, false}, {0, true}, // two successes needed
		{1, true}, {1, true}, {1, false}, // three failures needed
		{0, false}, {1, false}, {0, false}, {0, true},
	}
	for i, st := range steps {
		rec(st.code)
		if s.ready != st.ready {
			t.Fatalf("step %d (exit %d): ready %v, want %v", i, st.code, s.ready, st.ready)
		}
	}
	s.record(Result{ExitCode: 1}, time.Time{}, 0, 3, 2, true)
	if s.ready {
		t.Errorf("ready after a fatal failure")
	}
}

// ping, live and ready are answered from briefStatus, which must say what
// Status says, in every state.
func TestBriefStatusIsStatus(t *testing.T) {
	failing := &fakeProbe{}
	failing.code.Store(1)
	h := start(t, Config{Specs: []string{"process,level=live,interval=10ms", "process,name=r,level=ready,interval=10ms,retries=1", "notify"}},
		func(m *Monitor) {
			m.checks[1].checker = checkFunc(failing.probe)
			m.checks[0].checker = checkFunc((&fakeProbe{}).probe)
		})
	same := func(when string) {
		t.Helper()
		st, b := h.Status(), h.briefStatus()
		if st.Overall != b.Overall || st.Reason != b.Reason || st.Live != b.Live || st.LiveReason != b.LiveReason ||
			st.Ready != b.Ready || st.ReadyReason != b.ReadyReason {
			t.Errorf("%s: brief %+v, Status %s %q live %v %q ready %v %q", when, b,
				st.Overall, st.Reason, st.Live, st.LiveReason, st.Ready, st.ReadyReason)
		}
	}
	same("before the child")
	h.ChildStarted(os.Getpid())
	same("child started")
	waitFor(t, "r unhealthy", 3*time.Second, func() bool { return h.checkStatus("r").Status == StatusUnhealthy })
	same("a ready check failing")
	failing.code.Store(0)
	waitFor(t, "r healthy", 3*time.Second, func() bool { return h.checkStatus("r").Status == StatusHealthy })
	same("healthy, no READY=1")
	h.Stopping()
	same("stopping")
	h.ChildExited(143)
	same("child exited")
}
