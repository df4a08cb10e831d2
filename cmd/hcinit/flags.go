package main

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/duration"
	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
	"github.com/wisdom-oss/go-healthcheck/supervisor"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// minRestartDelay keeps a crash loop from spinning.
const minRestartDelay = 100 * time.Millisecond

// config is everything hcinit's command line, environment and config file
// decide.
type config struct {
	supervisor.Config               // the child's and the signals' settings
	Health            health.Config // the checks' and the health endpoints' (run() adds what is not a setting)

	LogLevel, LogFormat string
	Verbosity           int    // tini -v / TINI_VERBOSITY; -1 = not given
	WarnZombies         bool   // tini -w: log every orphan reaped
	ConfigFile          string // --config: YAML settings under the environment and the command line
	PrintConfig         bool   // --print-config: print the effective configuration and exit
	Help, Version       bool
}

// defaults is the configuration with no option given.
func defaults() config {
	return config{
		Config: supervisor.Defaults(),
		Health: health.Config{
			Interval:         health.DefaultInterval,
			Timeout:          health.DefaultTimeout,
			StartInterval:    health.DefaultStartInterval,
			Retries:          health.DefaultRetries,
			SuccessThreshold: health.DefaultSuccessThreshold,
		},
		LogLevel:  "info",
		LogFormat: "text",
		Verbosity: -1,
	}
}

// option is one command-line option with its environment twin.
type option struct {
	long  string
	short byte   // 0 when none
	arg   string // "" for a switch
	help  string
	set   func(c *config, v string) error
	env   []string // extra environment names (tini's, dumb-init's)
}

func (o option) envName() string {
	return "HCINIT_" + strings.ToUpper(strings.ReplaceAll(o.long, "-", "_"))
}

// options is the table both the parser and the usage text are built from,
// in --help's order.
func options() []option {
	d := defaults() // each default is written once: there, or health's Default constants
	return slices.Concat(healthOptions(d), signalOptions(d), childOptions(d))
}

// healthOptions are the checks' and the health endpoints' options.
func healthOptions(d config) []option {
	return []option{
		{long: "check", arg: "SPEC", help: "add a health check (repeatable; see CHECKS below)",
			set: func(c *config, v string) error { c.Health.Specs = append(c.Health.Specs, v); return nil }},
		{long: "interval", arg: "D", help: "time between checks (default " + d.Health.Interval.String() + ")", set: timingOpt(false, func(c *config) *time.Duration { return &c.Health.Interval })},
		{long: "timeout", arg: "D", help: "time one check may take (default " + d.Health.Timeout.String() + ")", set: timingOpt(false, func(c *config) *time.Duration { return &c.Health.Timeout })},
		{long: "start-period", arg: "D", help: "failures starting inside it do not count (default 0)", set: timingOpt(true, func(c *config) *time.Duration { return &c.Health.StartPeriod })},
		{long: "start-interval", arg: "D", help: "time between checks while starting, inside the start period (default " + d.Health.StartInterval.String() + ")", set: timingOpt(false, func(c *config) *time.Duration { return &c.Health.StartInterval })},
		{long: "retries", arg: "N", help: "consecutive failures that make a check unhealthy (default " + strconv.Itoa(d.Health.Retries) + ")", set: intOpt(1, func(c *config) *int { return &c.Health.Retries })},
		{long: "success-threshold", arg: "N", help: "consecutive successes before a check counts as ready (default " + strconv.Itoa(d.Health.SuccessThreshold) + ")", set: intOpt(1, func(c *config) *int { return &c.Health.SuccessThreshold })},
		{long: "on-unhealthy", arg: "ACTION", help: "none, restart (the child) or exit (hcinit) when a live-level check turns unhealthy (default none); exit: a child's 0 after that stop becomes 128+N of the stop signal",
			set: setOnUnhealthy},
		{long: "watchdog", arg: "D", help: "export WATCHDOG_USEC; a notify check fails without WATCHDOG=1 for D (or past the time an EXTEND_TIMEOUT_USEC= asked for)", set: durationOpt(func(c *config) *time.Duration { return &c.Health.Watchdog })},
		{long: "watchdog-signal", arg: "SIG", help: "send SIG to the main process when the watchdog expires (systemd's WatchdogSignal=, e.g. ABRT for a core dump; default none)",
			set: setWatchdogSignal},
		{long: "notify-access", arg: "WHO", help: "whose sd_notify messages count: main (the main process, default), exec (any process hcinit started) or all (any process in hcinit's pid namespace), as systemd's NotifyAccess=; what counts is relayed to a NOTIFY_SOCKET hcinit inherits (READY=1, STATUS=…: a systemd Type=notify unit); MAINPID=N makes hcinit supervise N instead, a process of its tree but never hcinit itself or an exec check's",
			set: setNotifyAccess},
		{long: "http", arg: "ADDR", help: "serve /livez /readyz /healthz /status and Prometheus /metrics on ADDR (e.g. :8081); a port in use stops hcinit before the child starts (exit 2); an empty ADDR for none",
			set: setHTTP},
		{long: "http-details", help: "also serve check outputs (response bodies, exec output) and exec checks' arguments on --http; by default only the health socket has them",
			set: func(c *config, v string) error { c.Health.HTTPDetails = true; return nil }},
		{long: "socket", arg: "ADDR", help: "the health socket (path, or @name for an abstract socket; a comma-separated list for several) in place of the defaults; hcinit listens on each, and one that cannot be bound (in use, no such directory) stops hcinit before the child starts (exit 2)",
			set: setSocket},
	}
}

// signalOptions are the stop sequence's and tini's and dumb-init's options.
// signalList names signals as the options take them: TERM,INT.
func signalList(ss ...unix.Signal) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = strings.TrimPrefix(sigs.Name(s), "SIG")
	}
	return strings.Join(names, ",")
}

func signalOptions(d config) []option {
	return []option{
		{long: "stop-signal", arg: "SIG", help: "signal the child gets in place of TERM, and when hcinit stops it itself (default " + signalList(d.StopSignal) + ")",
			set: setStopSignal},
		{long: "stop-triggers", arg: "SIGS", help: "signals that start the stop sequence, comma-separated (default " + signalList(d.StopTriggers...) + "); any other signal is only forwarded",
			set: setStopTriggers},
		{long: "stop-timeout", arg: "D", help: "kill everything left D after the stop signal (default 0: never; the orchestrator's grace decides); the main process's sd_notify EXTEND_TIMEOUT_USEC=N while stopping moves that kill out to at least N µs from then, as systemd's TimeoutStopSec=", set: durationOpt(func(c *config) *time.Duration { return &c.StopTimeout })},
		{long: "drain-delay", arg: "D", help: "on a stop trigger, report not ready for D before forwarding the stop signal; it counts against the orchestrator's grace (default 0)", set: durationOpt(func(c *config) *time.Duration { return &c.DrainDelay })},
		{long: "single-child", short: 'c', help: "signal only the child, not its process group (dumb-init -c)",
			env: []string{"DUMB_INIT_SETSID"},
			set: func(c *config, v string) error { c.SingleChild = true; return nil }},
		{long: "kill-group", short: 'g', help: "signal the child's process group (the default; tini -g)",
			env: []string{"TINI_KILL_PROCESS_GROUP"},
			set: func(c *config, v string) error { c.SingleChild = false; return nil }},
		{long: "rewrite", short: 'r', arg: "FROM:TO", help: "forward signal FROM as TO; TO 0 drops it (repeatable; dumb-init -r)",
			set: setRewrite},
		{long: "map-exit", short: 'e', arg: "CODE", help: "exit 0 when the child exits with CODE (repeatable; tini -e)",
			set: setMapExit},
		{long: "subreaper", short: 's', help: "register as child subreaper (automatic when not PID 1; tini -s)",
			env: []string{"TINI_SUBREAPER"},
			set: func(c *config, v string) error { c.Subreaper = true; return nil }},
		{long: "pdeath-signal", short: 'p', arg: "SIG", help: "signal hcinit receives when its parent dies (tini -p)",
			set: setPdeathSignal},
		{long: "verbose", short: 'v', help: "more logging; repeat for more (tini -v, dumb-init -v)",
			env: []string{"TINI_VERBOSITY"},
			set: setVerbose},
		{long: "warn-zombies", short: 'w', help: "log a warning for every orphan reaped (tini -w)",
			set: func(c *config, v string) error { c.WarnZombies = true; return nil }},
	}
}

// childOptions are the child's, the log's and the command's own options.
func childOptions(d config) []option {
	return []option{
		{long: "user", arg: "USER[:GROUP]", help: "run the child (and exec checks) as USER, by name or number",
			set: func(c *config, v string) error { c.User = v; return nil }},
		{long: "pidfile", arg: "PATH", help: "the child daemonizes: supervise the pid it writes to PATH",
			set: func(c *config, v string) error { c.Pidfile = v; return nil }},
		{long: "restart", arg: "POLICY", help: "no, on-failure or always: restart the child when it exits (default no); what it left running gets the stop signal first, SIGKILL after --stop-timeout (10s when unset), and the restart waits until none is left",
			set: setRestart},
		{long: "restart-delay", arg: "D", help: "first delay before a restart, doubled each time (default " + d.RestartDelay.String() + ", at least " + minRestartDelay.String() + ")", set: durationOpt(func(c *config) *time.Duration { return &c.RestartDelay })},
		{long: "restart-max-delay", arg: "D", help: "longest delay before a restart (default " + d.RestartMaxDelay.String() + ")", set: durationOpt(func(c *config) *time.Duration { return &c.RestartMaxDelay })},
		{long: "log-level", arg: "LEVEL", help: "error, warn, info or debug (default " + d.LogLevel + ")",
			set: setLogLevel},
		{long: "log-format", arg: "FORMAT", help: "text or json (default " + d.LogFormat + ")",
			set: setLogFormat},
		{long: "config", arg: "FILE", help: "read settings from a YAML (or JSON) file; the environment and the command line override it (see CONFIG FILE below)",
			set: func(c *config, v string) error { c.ConfigFile = v; return nil }},
		{long: "print-config", help: "print the effective configuration (file, environment, command line; secrets redacted) as YAML and exit",
			set: func(c *config, v string) error { c.PrintConfig = true; return nil }},
		{long: "help", short: 'h', help: "print this help and exit",
			set: func(c *config, v string) error { c.Help = true; return nil }},
		{long: "version", short: 'V', help: "print the version and exit",
			set: func(c *config, v string) error { c.Version = true; return nil }},
	}
}

func setOnUnhealthy(c *config, v string) error {
	switch v {
	case supervisor.OnUnhealthyNone, supervisor.OnUnhealthyRestart, supervisor.OnUnhealthyExit:
		c.OnUnhealthy = v
		return nil
	}
	return fmt.Errorf("want none, restart or exit, have %q", v)
}

func setWatchdogSignal(c *config, v string) error {
	s, err := sigs.Parse(v)
	c.Health.WatchdogSignal = s
	return err
}

func setNotifyAccess(c *config, v string) error {
	switch v = strings.ToLower(v); v {
	case "main", "exec", "all":
		c.Health.NotifyAccess = v
		return nil
	}
	return fmt.Errorf("want main, exec or all, have %q", v)
}

// setHTTP sets --http; "" turns the endpoint off (beating HCINIT_HTTP).
func setHTTP(c *config, v string) error {
	if v == "" {
		c.Health.HTTPAddr = ""
		return nil
	}
	if err := checkTCPAddr(v); err != nil {
		return err
	}
	c.Health.HTTPAddr = v
	return nil
}

func setSocket(c *config, v string) error {
	if v != "" && len(health.SocketAddrs(v)) == 0 {
		return fmt.Errorf("%q names no socket (\"\" for the defaults)", v)
	}
	for _, a := range strings.Split(v, ",") {
		if len(a) > maxSocketPath {
			return fmt.Errorf("socket address %q is longer than %d bytes (the kernel's limit)", a, maxSocketPath)
		}
	}
	c.Health.Socket = v
	return nil
}

func setStopSignal(c *config, v string) error {
	s, err := sigs.Parse(v)
	if err == nil && s == 0 {
		err = fmt.Errorf("signal 0 cannot stop anything")
	}
	c.StopSignal = s
	return err
}

func setStopTriggers(c *config, v string) error {
	var list []unix.Signal
	for _, f := range strings.Split(v, ",") {
		s, err := sigs.Parse(f)
		if err != nil {
			return err
		}
		if !sigs.IsForwardable(s) || s == unix.SIGPIPE {
			return fmt.Errorf("hcinit cannot act on %s", sigs.Name(s))
		}
		if !slices.Contains(list, s) {
			list = append(list, s)
		}
	}
	c.StopTriggers = list
	return nil
}

func setRewrite(c *config, v string) error {
	from, to, ok := strings.Cut(v, ":")
	if !ok {
		return fmt.Errorf("want FROM:TO, have %q", v)
	}
	f, err := sigs.Parse(from)
	if err != nil {
		return err
	}
	t, err := sigs.Parse(to)
	if err != nil {
		return err
	}
	if f == 0 {
		return fmt.Errorf("cannot rewrite signal 0")
	}
	c.Rewrite[f] = t
	return nil
}

func setMapExit(c *config, v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || n > 255 {
		return fmt.Errorf("want an exit code 0..255, have %q", v)
	}
	c.MapToZero[n] = true
	return nil
}

func setPdeathSignal(c *config, v string) error {
	s, err := sigs.Parse(v)
	c.PdeathSig = s
	return err
}

func setVerbose(c *config, v string) error {
	if v == "" {
		if c.Verbosity < 1 {
			c.Verbosity = 1
		}
		c.Verbosity++
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("want a verbosity 0..3, have %q", v)
	}
	c.Verbosity = n
	return nil
}

func setRestart(c *config, v string) error {
	switch v {
	case supervisor.RestartNo, supervisor.RestartOnFailure, supervisor.RestartAlways:
		c.Restart = v
		return nil
	}
	return fmt.Errorf("want no, on-failure or always, have %q", v)
}

func setLogLevel(c *config, v string) error {
	switch v = strings.ToLower(v); v {
	case "error", "warn", "warning", "info", "debug", "trace":
		c.LogLevel = v
		return nil
	}
	return fmt.Errorf("want error, warn, info or debug, have %q", v)
}

func setLogFormat(c *config, v string) error {
	if v = strings.ToLower(v); v != "text" && v != "json" {
		return fmt.Errorf("want text or json, have %q", v)
	}
	c.LogFormat = v
	return nil
}

// maxSocketPath is sun_path's 108 bytes less the terminating NUL.
const maxSocketPath = 107

// checkTCPAddr accepts HOST:PORT, :PORT and [V6]:PORT with a port of 0..65535.
func checkTCPAddr(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("want HOST:PORT or :PORT, have %q", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("want a port 0..65535, have %q", port)
	}
	return nil
}

func durationOpt(field func(*config) *time.Duration) func(*config, string) error {
	return func(c *config, v string) error {
		d, err := duration.Parse(v)
		if err != nil {
			return err
		}
		*field(c) = d
		return nil
	}
}

// minTiming is the shortest check interval, timeout or start period the
// options take, as a check's own keys (interval=…) and Docker's HEALTHCHECK.
const minTiming = time.Millisecond

// timingOpt sets a checks' timing option: a duration of at least minTiming,
// or 0 where zeroOK (the start period: none). Before, --interval 0 silently
// meant the default and --interval 1ns ran checks back to back, PID 1 busy
// on both cores.
func timingOpt(zeroOK bool, field func(*config) *time.Duration) func(*config, string) error {
	return func(c *config, v string) error {
		d, err := duration.Parse(v)
		switch {
		case err != nil:
			return err
		case d == 0 && !zeroOK:
			return fmt.Errorf("want a positive duration, have %q", v)
		case d > 0 && d < minTiming:
			return fmt.Errorf("%s is below the minimum of %s", d, minTiming)
		}
		*field(c) = d
		return nil
	}
}

func intOpt(min int, field func(*config) *int) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < min {
			return fmt.Errorf("want a whole number ≥ %d, have %q", min, v)
		}
		*field(c) = n
		return nil
	}
}

// parseArgs reads the environment (through getenv) and then args; an explicit flag
// wins over its environment twin. Parsing stops at "--" or at the first argument
// that is not an option, which starts the command, as in tini and dumb-init.
func parseArgs(args []string, getenv func(string) string) (config, error) {
	c := defaults()
	opts := options()
	if err := applySources(&c, args, opts, getenv); err != nil {
		return c, err
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var err error
		switch {
		case a == "--":
			if len(args[i+1:]) > 0 || len(c.Command) == 0 {
				c.Command = args[i+1:]
			}
			return c, validate(c)
		case strings.HasPrefix(a, "--"):
			i, err = setLong(&c, opts, args, i)
		case len(a) > 1 && a[0] == '-':
			i, err = setShorts(&c, opts, args, i)
		default:
			c.Command = args[i:]
			return c, validate(c)
		}
		if err != nil {
			return c, err
		}
	}
	return c, validate(c)
}

// applySources applies what is under the command line: the config file, then
// the environment.
func applySources(c *config, args []string, opts []option, getenv func(string) string) error {
	// A repeatable option given on the command line replaces its environment
	// twin instead of adding to it: an explicit option wins.
	given := givenOptions(args, opts)
	// One precedence rule: the command line beats the environment, which beats
	// the config file, which beats the defaults. A list (checks, rewrite,
	// map-exit) is one setting: a higher source replaces it whole.
	if path := configPath(args, opts, getenv); path != "" {
		if err := loadConfigFile(c, path, opts); err != nil {
			return err
		}
		resetLists(c, opts, given, getenv)
	}
	return applyEnv(c, opts, func(name string) string {
		for _, o := range opts {
			if given[o.long] && (name == o.envName() || slices.Contains(o.env, name)) {
				return ""
			}
		}
		return getenv(name)
	})
}

// setLong applies the long option args[i] (--name, --name=VALUE or --name
// VALUE) and returns the index of the last argument it used.
func setLong(c *config, opts []option, args []string, i int) (int, error) {
	name, val, hasVal := strings.Cut(args[i][2:], "=")
	o, ok := findLong(opts, name)
	if !ok {
		return i, fmt.Errorf("unknown option --%s", name)
	}
	if o.arg != "" && !hasVal {
		if i+1 >= len(args) {
			return i, fmt.Errorf("option --%s needs a value (%s)", name, o.arg)
		}
		i++
		val = args[i]
	} else if o.arg == "" && hasVal {
		return i, fmt.Errorf("option --%s takes no value", name)
	}
	if err := o.set(c, val); err != nil {
		return i, fmt.Errorf("option --%s: %w", name, err)
	}
	return i, nil
}

// setShorts applies the cluster of short options args[i], getopt style (-sg,
// -e143, -e 143, -vvv), and returns the index of the last argument it used.
func setShorts(c *config, opts []option, args []string, i int) (int, error) {
	a := args[i]
	for j := 1; j < len(a); j++ {
		o, ok := findShort(opts, a[j])
		if !ok {
			return i, fmt.Errorf("unknown option -%c", a[j])
		}
		if o.arg == "" {
			if err := o.set(c, ""); err != nil {
				return i, fmt.Errorf("option -%c: %w", a[j], err)
			}
			continue
		}
		val := a[j+1:]
		if val == "" {
			if i+1 >= len(args) {
				return i, fmt.Errorf("option -%c needs a value (%s)", a[j], o.arg)
			}
			i++
			val = args[i]
		}
		if err := o.set(c, val); err != nil {
			return i, fmt.Errorf("option -%c: %w", a[j], err)
		}
		break
	}
	return i, nil
}

// givenOptions names the options args sets before the command starts.
func givenOptions(args []string, opts []option) map[string]bool {
	given := map[string]bool{}
	scanOptions(args, opts, func(o option, _ string) bool { given[o.long] = true; return true })
	return given
}

// scanOptions calls visit, until it returns false, for each known option args
// sets before the command starts, with its value ("" for a switch, or when
// the value is missing). Unknown options are passed over: parseArgs reports
// them.
func scanOptions(args []string, opts []option, visit func(o option, val string) bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return
		}
		next := ""
		if i+1 < len(args) {
			next = args[i+1]
		}
		var used int
		var more bool
		if strings.HasPrefix(a, "--") {
			used, more = scanLong(a, next, opts, visit)
		} else {
			used, more = scanShorts(a, next, opts, visit)
		}
		if !more {
			return
		}
		i += used
	}
}

// scanLong visits the long option a, whose value may be next; it returns how
// many arguments after a it used and visit's answer.
func scanLong(a, next string, opts []option, visit func(option, string) bool) (int, bool) {
	name, val, hasVal := strings.Cut(a[2:], "=")
	o, ok := findLong(opts, name)
	switch {
	case !ok:
		return 0, true
	case o.arg == "" || hasVal:
		return 0, visit(o, val)
	}
	return 1, visit(o, next)
}

// scanShorts visits the cluster of short options a (-sg, -e143, -e 143) up to
// the first unknown one; the last one's value may be next.
func scanShorts(a, next string, opts []option, visit func(option, string) bool) (int, bool) {
	for j := 1; j < len(a); j++ {
		o, ok := findShort(opts, a[j])
		if !ok {
			return 0, true
		}
		if o.arg == "" {
			if !visit(o, "") {
				return 0, false
			}
			continue
		}
		if val := a[j+1:]; val != "" {
			return 0, visit(o, val)
		}
		return 1, visit(o, next)
	}
	return 0, true
}

func validate(c config) error {
	if c.Help || c.Version || c.PrintConfig {
		return nil
	}
	if len(c.Command) == 0 {
		return errors.New("no command given: usage is hcinit [OPTION...] [--] COMMAND [ARG...]")
	}
	if c.Command[0] == "" {
		return errors.New("empty command name")
	}
	if c.RestartDelay < minRestartDelay {
		return fmt.Errorf("--restart-delay %s is below %s: a crashing child would spin", c.RestartDelay, minRestartDelay)
	}
	if c.RestartMaxDelay < c.RestartDelay {
		return fmt.Errorf("--restart-max-delay %s is shorter than --restart-delay %s", c.RestartMaxDelay, c.RestartDelay)
	}
	return nil
}

func findLong(opts []option, name string) (option, bool) {
	for _, o := range opts {
		if o.long == name {
			return o, true
		}
	}
	return option{}, false
}

func findShort(opts []option, b byte) (option, bool) {
	for _, o := range opts {
		if o.short != 0 && o.short == b {
			return o, true
		}
	}
	return option{}, false
}

// applyEnv applies HCINIT_* twins and the peers' variables. Repeatable options
// take several values separated by newlines or ';' (a check spec contains commas).
func applyEnv(c *config, opts []option, getenv func(string) string) error {
	for _, o := range opts {
		if o.long == "help" || o.long == "version" || o.long == "print-config" {
			continue
		}
		for _, name := range o.env {
			v := getenv(name)
			if v == "" {
				continue
			}
			if err := applyPeerEnv(c, o, name, v); err != nil {
				return fmt.Errorf("environment %s: %w", name, err)
			}
		}
		if v := getenv(o.envName()); v != "" {
			if err := applyTwin(c, o, v); err != nil {
				return fmt.Errorf("environment %s: %w", o.envName(), err)
			}
		}
	}
	return nil
}

// applyTwin applies v, the value of o's HCINIT_* twin.
func applyTwin(c *config, o option, v string) error {
	if o.arg == "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false, have %q", v)
		}
		if b {
			return o.set(c, "")
		}
		return nil
	}
	vals := []string{v}
	switch o.long {
	case "check", "rewrite", "map-exit":
		vals = splitEnvList(v)
	}
	for _, one := range vals {
		if err := o.set(c, strings.TrimSpace(one)); err != nil {
			return err
		}
	}
	return nil
}

// applyPeerEnv maps tini's and dumb-init's variables onto our options.
func applyPeerEnv(c *config, o option, name, v string) error {
	switch name {
	case "TINI_SUBREAPER", "TINI_KILL_PROCESS_GROUP":
		// tini: any value, even empty-but-set, turns it on; we see only non-empty.
		return o.set(c, "")
	case "DUMB_INIT_SETSID":
		if v == "0" {
			c.SingleChild = true
		}
		return nil
	case "TINI_VERBOSITY":
		return o.set(c, v)
	}
	return nil
}

// splitEnvList splits a repeatable option's environment value on newlines and
// ';'. "\\;" is a literal ';' (a check spec may need one: exec=sh -c 'a\\; b').
func splitEnvList(v string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && i+1 < len(v) && v[i+1] == ';':
			cur.WriteByte(';')
			i++
		case c == '\n' || c == ';':
			flush()
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return out
}

// envNames lists the environment variables hcinit reads for its options:
// every HCINIT_* twin and the peers' (tini's, dumb-init's).
func envNames() []string {
	var names []string
	for _, o := range options() {
		names = append(names, o.envName())
		names = append(names, o.env...)
	}
	return names
}
