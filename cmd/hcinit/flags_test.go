package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/supervisor"
)

// TestEnvTwins: every option with a value has an HCINIT_* twin, and the option
// given on the command line wins over it.
func TestEnvTwins(t *testing.T) {
	for _, tc := range []struct {
		name      string
		envName   string
		envValue  string
		flag      []string
		field     func(config) any
		fromEnv   any
		fromFlags any
	}{
		{"stop-signal", "HCINIT_STOP_SIGNAL", "USR1", []string{"--stop-signal", "HUP"},
			func(c config) any { return c.StopSignal }, unix.SIGUSR1, unix.SIGHUP},
		{"stop-timeout", "HCINIT_STOP_TIMEOUT", "30s", []string{"--stop-timeout", "1s"},
			func(c config) any { return c.StopTimeout }, 30 * time.Second, time.Second},
		{"stop-triggers", "HCINIT_STOP_TRIGGERS", "QUIT", []string{"--stop-triggers", "TERM,int,3"},
			func(c config) any { return fmt.Sprint(c.StopTriggers) },
			fmt.Sprint([]unix.Signal{unix.SIGQUIT}), fmt.Sprint([]unix.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGQUIT})},
		{"drain-delay", "HCINIT_DRAIN_DELAY", "2s", []string{"--drain-delay", "1"},
			func(c config) any { return c.DrainDelay }, 2 * time.Second, time.Second},
		{"restart", "HCINIT_RESTART", "always", []string{"--restart", "on-failure"},
			func(c config) any { return c.Restart }, "always", "on-failure"},
		{"restart-delay", "HCINIT_RESTART_DELAY", "2s", []string{"--restart-delay", "3s"},
			func(c config) any { return c.RestartDelay }, 2 * time.Second, 3 * time.Second},
		{"user", "HCINIT_USER", "65534", []string{"--user", "0"},
			func(c config) any { return c.User }, "65534", "0"},
		{"pidfile", "HCINIT_PIDFILE", "/run/a.pid", []string{"--pidfile", "/run/b.pid"},
			func(c config) any { return c.Pidfile }, "/run/a.pid", "/run/b.pid"},
		{"log-level", "HCINIT_LOG_LEVEL", "debug", []string{"--log-level", "error"},
			func(c config) any { return c.LogLevel }, "debug", "error"},
		{"log-format", "HCINIT_LOG_FORMAT", "json", []string{"--log-format", "text"},
			func(c config) any { return c.LogFormat }, "json", "text"},
		{"pdeath-signal", "HCINIT_PDEATH_SIGNAL", "KILL", []string{"-p", "TERM"},
			func(c config) any { return c.PdeathSig }, unix.SIGKILL, unix.SIGTERM},
		// A switch set in the environment is turned back by its opposite flag.
		{"single-child", "HCINIT_SINGLE_CHILD", "true", []string{"-g"},
			func(c config) any { return c.SingleChild }, true, false},
		{"kill-group", "HCINIT_KILL_GROUP", "true", []string{"-c"},
			func(c config) any { return c.SingleChild }, false, true},
		// -v on the command line replaces the environment's verbosity.
		{"verbose", "HCINIT_VERBOSE", "true", []string{"-vv"},
			func(c config) any { return c.Verbosity }, 2, 3},
		{"warn-zombies", "HCINIT_WARN_ZOMBIES", "1", nil,
			func(c config) any { return c.WarnZombies }, true, true},
		{"subreaper", "HCINIT_SUBREAPER", "yes-not-a-bool", nil, nil, nil, nil}, // an error, below
	} {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == tc.envName {
					return tc.envValue
				}
				return ""
			}
			cfg, err := parseArgs([]string{"app"}, getenv)
			if tc.field == nil {
				if err == nil {
					t.Fatalf("%s=%s: no error", tc.envName, tc.envValue)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if have := tc.field(cfg); have != tc.fromEnv {
				t.Errorf("%s=%s: have %v, want %v", tc.envName, tc.envValue, have, tc.fromEnv)
			}
			cfg, err = parseArgs(append(slices.Clone(tc.flag), "app"), getenv)
			if err != nil {
				t.Fatal(err)
			}
			if have := tc.field(cfg); have != tc.fromFlags {
				t.Errorf("%s=%s with %v: have %v, want %v", tc.envName, tc.envValue, tc.flag, have, tc.fromFlags)
			}
		})
	}
}

// TestRepeatable: repeatable options add up, from the environment (';' or
// newline separated) and from flags.
func TestRepeatable(t *testing.T) {
	getenv := func(k string) string {
		switch k {
		case "HCINIT_MAP_EXIT":
			return "3;4\n5"
		case "HCINIT_REWRITE":
			return "USR1:0; 15:3"
		case "HCINIT_CHECK":
			return "tcp=:80,timeout=1s;file=/tmp/alive"
		}
		return ""
	}
	// Only the environment: every ';'- or newline-separated value counts.
	cfg, err := parseArgs([]string{"app"}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []int{3, 4, 5} {
		if !cfg.MapToZero[code] {
			t.Errorf("exit %d not mapped to 0: %v", code, cfg.MapToZero)
		}
	}
	want := map[unix.Signal]unix.Signal{unix.SIGUSR1: 0, unix.SIGTERM: unix.SIGQUIT}
	if !maps.Equal(cfg.Rewrite, want) {
		t.Errorf("rewrite %v, want %v", cfg.Rewrite, want)
	}
	if wantChecks := []string{"tcp=:80,timeout=1s", "file=/tmp/alive"}; !slices.Equal(cfg.Health.Specs, wantChecks) {
		t.Errorf("checks %q, want %q", cfg.Health.Specs, wantChecks)
	}

	// The explicit option wins: given on the command line, a repeatable
	// option replaces its environment twin instead of adding to it.
	cfg, err = parseArgs([]string{"-e", "6", "-r", "HUP:USR2", "--check", "process", "app"}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(cfg.MapToZero, map[int]bool{6: true}) {
		t.Errorf("map-exit %v, want only 6", cfg.MapToZero)
	}
	if !maps.Equal(cfg.Rewrite, map[unix.Signal]unix.Signal{unix.SIGHUP: unix.SIGUSR2}) {
		t.Errorf("rewrite %v, want only HUP:USR2", cfg.Rewrite)
	}
	if !slices.Equal(cfg.Health.Specs, []string{"process"}) {
		t.Errorf("checks %q, want only process", cfg.Health.Specs)
	}
}

// TestDefaults: with nothing given, TERM and INT stop, and the grace is the
// orchestrator's (no --stop-timeout of hcinit's own).
func TestDefaults(t *testing.T) {
	cfg, err := parseArgs([]string{"app"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case cfg.StopSignal != unix.SIGTERM:
		t.Errorf("stop signal %d", cfg.StopSignal)
	case cfg.StopTimeout != 0:
		t.Errorf("stop timeout %s: want none (the orchestrator's grace)", cfg.StopTimeout)
	case !slices.Equal(cfg.StopTriggers, []unix.Signal{unix.SIGTERM, unix.SIGINT}):
		t.Errorf("stop triggers %v, want TERM, INT", cfg.StopTriggers)
	case cfg.SingleChild:
		t.Error("single-child by default")
	case cfg.Restart != supervisor.RestartNo:
		t.Errorf("restart %q", cfg.Restart)
	}
}

// TestBadDurations: a duration that is not a finite, non-negative number of
// nanoseconds is an error, not a wrapped-around or infinite grace; a restart
// delay of 0 would let a crashing child spin.
func TestBadDurations(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{[]string{"--stop-timeout", "inf"}, `"inf"`},
		{[]string{"--stop-timeout", "+Inf"}, `"+Inf"`},
		{[]string{"--stop-timeout", "NaN"}, `"NaN"`},
		{[]string{"--stop-timeout", "1e300"}, "too long"},
		{[]string{"--stop-timeout", "-1"}, "negative"},
		{[]string{"--stop-timeout=-1"}, "negative"},
		{[]string{"--drain-delay", "1e300"}, "too long"},
		{[]string{"--restart-delay", "0"}, "--restart-delay"},
		{[]string{"--restart-delay", "50ms"}, "--restart-delay"},
	} {
		args := append(tc.args, "app")
		cfg, err := parseArgs(args, noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q): have %v (stop timeout %s, restart delay %s), want an error with %q",
				args, err, cfg.StopTimeout, cfg.RestartDelay, tc.want)
		}
	}
	// The same values from the environment twin.
	env := func(name string) string {
		if name == "HCINIT_STOP_TIMEOUT" {
			return "inf"
		}
		return ""
	}
	if _, err := parseArgs([]string{"app"}, env); err == nil {
		t.Error("HCINIT_STOP_TIMEOUT=inf accepted")
	}
	// The smallest delay still allowed, and plain seconds.
	cfg, err := parseArgs([]string{"--restart-delay", "0.1", "--stop-timeout", "1.5", "app"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RestartDelay != 100*time.Millisecond || cfg.StopTimeout != 1500*time.Millisecond {
		t.Errorf("have restart delay %s, stop timeout %s; want 100ms, 1.5s", cfg.RestartDelay, cfg.StopTimeout)
	}
}

// TestBadAddresses: a malformed --http or an over-long --socket is a usage
// error up front, not a supervisor that runs without its endpoint.
func TestBadAddresses(t *testing.T) {
	noEnv := func(string) string { return "" }
	long := "/tmp/" + strings.Repeat("x", 120) + ".sock"
	for _, tc := range []struct {
		args []string
		want string // in the error; "" = accepted
	}{
		{[]string{"--http", "notaport"}, "HOST:PORT"},
		{[]string{"--http", ":99999"}, "0..65535"},
		{[]string{"--http", "127.0.0.1:"}, "0..65535"},
		{[]string{"--http", ":8081"}, ""},
		{[]string{"--http", "[::1]:0"}, ""},
		{[]string{"--socket", long}, "107 bytes"},
		{[]string{"--socket", "/run/a.sock," + long}, "107 bytes"},
		{[]string{"--socket", "@hcinit-x,/tmp/h.sock"}, ""},
	} {
		_, err := parseArgs(append(tc.args, "app"), noEnv)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("Parse(%q): %v, want it accepted", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("Parse(%q): have %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

// TestEnvCheckEscapedSeparator: in HCINIT_CHECK, "\;" is a ';' of a spec, not
// a separator.
func TestEnvCheckEscapedSeparator(t *testing.T) {
	env := map[string]string{"HCINIT_CHECK": `exec=/bin/sh -c 'a\; b',name=x;process`}
	c, err := parseArgs([]string{"app"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{`exec=/bin/sh -c 'a; b',name=x`, "process"}; !slices.Equal(c.Health.Specs, want) {
		t.Errorf("checks %q, want %q", c.Health.Specs, want)
	}
}
