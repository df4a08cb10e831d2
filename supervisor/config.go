package supervisor

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
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

// Config is everything hcinit's command line and environment decide.
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
	Verbosity    int                         // tini -v / TINI_VERBOSITY; -1 = not given
	WarnZombies  bool                        // tini -w
	User         string
	Pidfile      string

	Restart         string
	RestartDelay    time.Duration
	RestartMaxDelay time.Duration

	LogLevel  string
	LogFormat string

	Checks           []string      // --check values
	Specs            []health.Spec // the config file's checks; dropped when --check (or its env twin) is given
	Interval         time.Duration
	Timeout          time.Duration
	StartPeriod      time.Duration
	StartInterval    time.Duration
	Retries          int
	SuccessThreshold int
	OnUnhealthy      string
	Watchdog         time.Duration
	WatchdogSignal   unix.Signal // 0 = none
	NotifyAccess     string
	HTTPAddr         string
	HTTPDetails      bool
	Socket           string

	ConfigFile  string // --config: YAML settings under the environment and the command line
	PrintConfig bool   // --print-config: print the effective configuration and exit

	Help    bool
	Version bool
}

// Defaults returns the configuration with no option given. The checks'
// defaults are health's (its Default constants); --help prints these values.
func Defaults() Config {
	return Config{
		StopSignal:       unix.SIGTERM,
		StopTriggers:     []unix.Signal{unix.SIGTERM, unix.SIGINT},
		StopTimeout:      0, // the orchestrator owns the grace: docker stop -t, terminationGracePeriodSeconds
		Rewrite:          map[unix.Signal]unix.Signal{},
		MapToZero:        map[int]bool{},
		Verbosity:        -1,
		Restart:          RestartNo,
		RestartDelay:     time.Second,
		RestartMaxDelay:  30 * time.Second,
		LogLevel:         "info",
		LogFormat:        "text",
		Interval:         health.DefaultInterval,
		Timeout:          health.DefaultTimeout,
		StartInterval:    health.DefaultStartInterval,
		Retries:          health.DefaultRetries,
		SuccessThreshold: health.DefaultSuccessThreshold,
		OnUnhealthy:      OnUnhealthyNone,
	}
}
