package health

import (
	"testing"
	"time"
)

// view is a check of kind process with one result whose output is "out NAME".
func view(name string, level Level, s State, ready bool) checkView {
	return checkView{
		spec: Spec{Name: name, Kind: KindProcess, Level: level, SuccessThreshold: 1},
		st:   state{status: s, ready: ready, log: []Result{{ExitCode: 1, Output: "out " + name}}},
	}
}

// TestStatusPure: the overall state, liveness and readiness, and their
// reasons, from the checks and the child alone: no process, socket or clock.
func TestStatusPure(t *testing.T) {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	running := childView{pid: 42, started: started, active: true}
	adopted := view("delegate", LevelBoth, StatusStarting, false) // it answered: failed
	adopted.adopted = true
	unasked := adopted
	unasked.st.log = nil
	threshold := view("t", LevelBoth, StatusHealthy, false)
	threshold.spec.SuccessThreshold, threshold.st.successes = 3, 1
	notifyCheck := view("n", LevelReady, StatusHealthy, true)
	notifyCheck.spec.Kind = KindNotify
	streaky := view("s", LevelLive, StatusHealthy, true)
	streaky.st.streak = 2

	type want struct {
		overall             State
		reason              string
		live                bool
		liveReason          string
		ready               bool
		readyReason         string
		pid, failingStreak  int
		childExited         bool
		exitCode            int
		uptime              float64
		stopping, hasNotify bool
	}
	tests := []struct {
		name    string
		checks  []checkView
		child   childView
		notify  *NotifyStatus
		details bool
		want    want
	}{
		{"no child yet", []checkView{view("p", LevelBoth, StatusStarting, false)}, childView{}, nil, true,
			want{overall: StatusStarting, reason: "no child yet", live: true, ready: false, readyReason: "no child yet"}},
		{"child exited: unhealthy, not live, not ready, no pid",
			[]checkView{view("p", LevelBoth, StatusHealthy, true)},
			childView{pid: 42, started: started, exited: true, exitCode: 3}, nil, true,
			want{overall: StatusUnhealthy, reason: "child exited with code 3", liveReason: "child exited with code 3",
				readyReason: "child exited with code 3", childExited: true, exitCode: 3}},
		{"all healthy; the failing streak is the largest",
			[]checkView{view("a", LevelBoth, StatusHealthy, true), streaky}, running, nil, true,
			want{overall: StatusHealthy, live: true, ready: true, pid: 42, failingStreak: 2, uptime: 10}},
		{"unhealthy ready-only check: unhealthy, live, not ready, reason its output",
			[]checkView{view("a", LevelLive, StatusHealthy, true), view("r", LevelReady, StatusUnhealthy, false)}, running, nil, true,
			want{overall: StatusUnhealthy, reason: "check r: out r", live: true, readyReason: "check r: out r", pid: 42, uptime: 10}},
		{"unhealthy live check: not live",
			[]checkView{view("r", LevelReady, StatusHealthy, true), view("l", LevelLive, StatusUnhealthy, false)}, running, nil, true,
			want{overall: StatusUnhealthy, reason: "check l: out l", liveReason: "check l: out l", ready: true, pid: 42, uptime: 10}},
		{"without details a reason names the state, not the output",
			[]checkView{view("l", LevelBoth, StatusUnhealthy, false)}, running, nil, false,
			want{overall: StatusUnhealthy, reason: "check l: unhealthy", liveReason: "check l: unhealthy",
				readyReason: "check l: unhealthy", pid: 42, uptime: 10}},
		{"the first unhealthy check wins over a starting one",
			[]checkView{view("s", LevelBoth, StatusStarting, false), view("u", LevelReady, StatusUnhealthy, false)}, running, nil, true,
			want{overall: StatusUnhealthy, reason: "check u: out u", live: true, readyReason: "check s: out s", pid: 42, uptime: 10}},
		{"starting check",
			[]checkView{view("a", LevelBoth, StatusHealthy, true), view("s", LevelLive, StatusStarting, false)}, running, nil, true,
			want{overall: StatusStarting, reason: "check s: out s", live: true, ready: true, pid: 42, uptime: 10}},
		{"a delegate found by itself holds nothing back before it is asked",
			[]checkView{view("a", LevelBoth, StatusHealthy, true), unasked}, running, nil, true,
			want{overall: StatusHealthy, live: true, ready: true, pid: 42, uptime: 10}},
		{"a delegate found by itself that answered with a failure: starting, not ready (its output the reason)",
			[]checkView{view("a", LevelBoth, StatusHealthy, true), adopted}, running, nil, true,
			want{overall: StatusStarting, reason: "check delegate: out delegate", live: true,
				readyReason: "check delegate: out delegate", pid: 42, uptime: 10}},
		{"success threshold not met: healthy, not ready",
			[]checkView{threshold}, running, nil, false,
			want{overall: StatusHealthy, live: true, readyReason: "check t: 1 of 3 successes needed", pid: 42, uptime: 10}},
		{"stopping: not ready, still live and healthy",
			[]checkView{view("a", LevelBoth, StatusHealthy, true)},
			childView{pid: 42, started: started, active: true, stopping: true}, nil, true,
			want{overall: StatusHealthy, live: true, readyReason: "stopping", pid: 42, uptime: 10, stopping: true}},
		{"notify check passing, but RELOADING=1: not ready",
			[]checkView{notifyCheck}, running, &NotifyStatus{Ready: false}, true,
			want{overall: StatusHealthy, live: true, pid: 42, uptime: 10, hasNotify: true,
				readyReason: "check n: no READY=1 since the last start, RELOADING=1 or STOPPING=1"}},
		{"notify check and READY=1: ready",
			[]checkView{notifyCheck}, running, &NotifyStatus{Ready: true}, true,
			want{overall: StatusHealthy, live: true, ready: true, pid: 42, uptime: 10, hasNotify: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := status(tt.checks, tt.child, tt.notify, started.Add(10*time.Second), tt.details)
			have := want{overall: st.Overall, reason: st.Reason, live: st.Live, liveReason: st.LiveReason,
				ready: st.Ready, readyReason: st.ReadyReason, pid: st.ChildPID, failingStreak: st.FailingStreak,
				childExited: st.ChildExited, exitCode: st.ExitCode, uptime: st.ChildUptime, stopping: st.Stopping,
				hasNotify: st.Notify != nil}
			if have != tt.want {
				t.Errorf("\nhave %+v\nwant %+v", have, tt.want)
			}
			if len(st.Checks) != len(tt.checks) {
				t.Fatalf("%d checks, want %d", len(st.Checks), len(tt.checks))
			}
			for i, c := range st.Checks {
				if c.Name != tt.checks[i].spec.Name || c.Status != tt.checks[i].st.status || c.Ready != tt.checks[i].st.ready {
					t.Errorf("check %d: %+v", i, c)
				}
			}
		})
	}
}

// TestStatusCopies: a Status shares nothing with the state it was made from.
func TestStatusCopies(t *testing.T) {
	c := view("a", LevelBoth, StatusHealthy, true)
	exit := &ExitInfo{Code: 1, Reason: "exited"}
	st := status([]checkView{c}, childView{active: true, restarts: 2, lastExit: exit}, nil, time.Now(), true)
	st.Checks[0].Log[0].Output = "changed"
	st.LastExit.Code = 9
	if c.st.log[0].Output != "out a" || exit.Code != 1 {
		t.Error("status shares its log or last exit with the state")
	}
	if st.Restarts != 2 || st.Checks == nil {
		t.Errorf("restarts %d, checks %v", st.Restarts, st.Checks)
	}
	if empty := status(nil, childView{}, nil, time.Now(), true); empty.Checks == nil {
		t.Error("no checks: Checks is nil (JSON null), want []")
	}
}
