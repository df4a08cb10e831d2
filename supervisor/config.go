package supervisor

import (
	"time"

	"golang.org/x/sys/unix"
)

// Restart policies, as Docker names them.
const (
	RestartNo        = "no"
	RestartOnFailure = "on-failure"
	RestartAlways    = "always"
)

// Actions on an unhealthy child.
const (
	OnUnhealthyNone    = "none"
	OnUnhealthyRestart = "restart"
	OnUnhealthyExit    = "exit"
)

// Config is what the command line, the environment and the config file decide
// for the child and the signals (hcinit's own command line is cmd/hcinit's;
// the checks' settings are health.Config).
type Config struct {
	Command []string

	StopSignal   unix.Signal
	StopTriggers []unix.Signal // signals that start the stop sequence; the others are only forwarded
	StopTimeout  time.Duration // 0: no grace of hcinit's own; the orchestrator's decides
	DrainDelay   time.Duration
	SingleChild  bool
	Rewrite      map[unix.Signal]unix.Signal // 0 as the value drops the signal
	MapToZero    map[int]bool                // tini -e
	Subreaper    bool                        // tini -s; hcinit registers by itself anyway
	PdeathSig    unix.Signal                 // tini -p
	User         string
	Pidfile      string

	Restart         string
	RestartDelay    time.Duration
	RestartMaxDelay time.Duration

	OnUnhealthy string // what a live-level check turning unhealthy does
}

// Defaults returns the configuration with no option given; --help prints
// these values.
func Defaults() Config {
	return Config{
		StopSignal:      unix.SIGTERM,
		StopTriggers:    []unix.Signal{unix.SIGTERM, unix.SIGINT},
		StopTimeout:     0, // the orchestrator owns the grace: docker stop -t, terminationGracePeriodSeconds
		Rewrite:         map[unix.Signal]unix.Signal{},
		MapToZero:       map[int]bool{},
		Restart:         RestartNo,
		RestartDelay:    time.Second,
		RestartMaxDelay: 30 * time.Second,
		OnUnhealthy:     OnUnhealthyNone,
	}
}
