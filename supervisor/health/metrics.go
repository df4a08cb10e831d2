package health

// GET /metrics on --http: Prometheus' text exposition format 0.0.4, written
// by hand (client_golang would add megabytes to every PID 1). Names follow
// Prometheus' conventions: the hcinit_ prefix, _total for counters, _seconds
// for durations and timestamps, a state set for enum states.

import (
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// metricsContentType is what Prometheus expects of the text format.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// metricsWriter writes metric families; a family without samples is left out.
type metricsWriter struct {
	b []byte
}

type sample struct {
	labels []string // name, value, name, value…
	value  float64
}

func (w *metricsWriter) family(name, typ, help string, samples ...sample) {
	if len(samples) == 0 {
		return
	}
	w.b = append(w.b, "# HELP "+name+" "+help+"\n# TYPE "+name+" "+typ+"\n"...)
	for _, s := range samples {
		w.b = append(w.b, name...)
		if len(s.labels) > 0 {
			w.b = append(w.b, '{')
			for i := 0; i+1 < len(s.labels); i += 2 {
				if i > 0 {
					w.b = append(w.b, ',')
				}
				w.b = append(w.b, s.labels[i]...)
				w.b = append(w.b, `="`...)
				w.b = append(w.b, labelEscaper.Replace(s.labels[i+1])...)
				w.b = append(w.b, '"')
			}
			w.b = append(w.b, '}')
		}
		w.b = append(w.b, ' ')
		w.b = strconv.AppendFloat(w.b, s.value, 'g', -1, 64)
		w.b = append(w.b, '\n')
	}
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// states are the health states in the order /metrics lists them.
var states = []State{StatusStarting, StatusHealthy, StatusUnhealthy}

func one(labels ...string) sample { return sample{labels: labels, value: 1} }

func bit(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// metrics is the /metrics body.
func (m *Monitor) metrics() []byte {
	st := m.Status()
	w := &metricsWriter{b: make([]byte, 0, 4096)}

	w.family("hcinit_build_info", "gauge", "hcinit's version and the Go version that built it (always 1).",
		one("version", m.cfg.Version, "goversion", runtime.Version()))
	w.health(st)
	w.checks(st.Checks)
	w.child(st)
	if m.cfg.Reaper != nil {
		w.family("hcinit_zombies_reaped_total", "counter", "Orphaned processes hcinit reaped as init (not the child, not a check's process).",
			sample{value: float64(m.cfg.Reaper.Orphans())})
	}
	if m.cfg.SignalsForwarded != nil {
		w.signals(m.cfg.SignalsForwarded())
	}
	return w.b
}

// health writes the overall state, liveness and readiness.
func (w *metricsWriter) health(st Status) {
	var overall []sample
	for _, s := range states {
		overall = append(overall, sample{labels: []string{"status", string(s)}, value: bit(st.Overall == s)})
	}
	w.family("hcinit_health_status", "gauge", "Overall health, as `hcinit check` answers it: 1 for the current status.", overall...)
	w.family("hcinit_live", "gauge", "1 when `hcinit check --live` passes.", sample{value: bit(st.Live)})
	w.family("hcinit_ready", "gauge", "1 when `hcinit check --ready` passes.", sample{value: bit(st.Ready)})
}

// checks writes each check's state, last duration, counts and last change.
func (w *metricsWriter) checks(checks []CheckStatus) {
	var status, duration, runs, failures, changed []sample
	for _, c := range checks {
		id := []string{"check", c.Name}
		for _, s := range states {
			status = append(status, sample{labels: []string{"check", c.Name, "kind", c.Kind, "level", string(c.Level), "status", string(s)},
				value: bit(c.Status == s)})
		}
		if n := len(c.Log); n > 0 {
			duration = append(duration, sample{labels: id, value: c.Log[n-1].End.Sub(c.Log[n-1].Start).Seconds()})
		}
		runs = append(runs, sample{labels: id, value: float64(c.Runs)})
		failures = append(failures, sample{labels: id, value: float64(c.Failures)})
		if !c.LastChange.IsZero() {
			changed = append(changed, sample{labels: id, value: unixSeconds(c.LastChange)})
		}
	}
	w.family("hcinit_check_status", "gauge", "Each check's state: 1 for the current one.", status...)
	w.family("hcinit_check_last_duration_seconds", "gauge", "How long each check's latest run took.", duration...)
	w.family("hcinit_check_runs_total", "counter", "Results each check recorded.", runs...)
	w.family("hcinit_check_failures_total", "counter", "Failed results each check recorded.", failures...)
	w.family("hcinit_check_last_change_timestamp_seconds", "gauge", "When each check's state last changed (a child start resets it to starting), in seconds since the epoch.", changed...)
}

// child writes the child's life: up, start, restarts, last exit.
func (w *metricsWriter) child(st Status) {
	w.family("hcinit_child_up", "gauge", "1 while the child runs.", sample{value: bit(st.ChildPID > 0)})
	if !st.ChildStarted.IsZero() {
		w.family("hcinit_child_start_time_seconds", "gauge", "When the current (or last) child started, in seconds since the epoch.",
			sample{value: unixSeconds(st.ChildStarted)})
	}
	w.family("hcinit_child_restarts_total", "counter", "Times the child was started again after it ended.", sample{value: float64(st.Restarts)})
	if st.LastExit != nil {
		w.family("hcinit_child_last_exit_code", "gauge", "The child's last exit code (128+N when killed by signal N).",
			sample{value: float64(st.LastExit.Code)})
		w.family("hcinit_child_last_exit_timestamp_seconds", "gauge", "When the child last ended, in seconds since the epoch.",
			sample{value: unixSeconds(st.LastExit.Time)})
	}
}

// signals writes the signals sent to the child, by name.
func (w *metricsWriter) signals(counts map[string]uint64) {
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	var sigs []sample
	for _, n := range names {
		sigs = append(sigs, sample{labels: []string{"signal", n}, value: float64(counts[n])})
	}
	w.family("hcinit_signals_forwarded_total", "counter", "Signals sent to the child or its process group, by name: forwarded ones and hcinit's own stop signals.", sigs...)
}
