package main

import (
	"slices"
	"strings"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// startupWarnings names the settings that can never take effect as given, so
// a typo or a misunderstanding shows in the first lines of the log instead of
// at the first incident. args are hcinit's arguments, environ its environment.
func startupWarnings(cfg config, args, environ []string) []string {
	warns := append(configWarnings(cfg), scheduleWarnings(cfg)...)
	warns = append(warns, envWarnings(environ)...)
	return append(warns, argWarnings(args)...)
}

// configWarnings names the settings that contradict each other.
func configWarnings(cfg config) []string {
	var warns []string
	hasNotify, hasLive := false, len(cfg.Health.Specs) == 0 // the default process check is level both
	for _, s := range cfg.Health.Specs {
		sp, err := health.ParseSpec(s)
		if err != nil {
			continue // reported as an error when the health side starts
		}
		hasNotify = hasNotify || sp.Kind == health.KindNotify
		hasLive = hasLive || sp.Level == health.LevelLive || sp.Level == health.LevelBoth
	}
	if cfg.Health.Watchdog > 0 && !hasNotify {
		warns = append(warns, "--watchdog without a notify check: one is added, so the child must send READY=1, then WATCHDOG=1 at least every "+cfg.Health.Watchdog.String()+" (--check notify makes this explicit)")
	}
	if cfg.OnUnhealthy != supervisor.OnUnhealthyNone && !hasLive {
		warns = append(warns, "--on-unhealthy "+cfg.OnUnhealthy+" never acts: every check has level=ready, and readiness never restarts or stops (as in Kubernetes)")
	}
	if cfg.StopTimeout > 0 && cfg.DrainDelay >= cfg.StopTimeout {
		warns = append(warns, "--drain-delay "+cfg.DrainDelay.String()+" is not shorter than --stop-timeout "+cfg.StopTimeout.String()+": the stop signal would come only when the grace is over")
	}
	return warns
}

// envWarnings names the HCINIT_ variables hcinit does not read.
func envWarnings(environ []string) []string {
	var warns []string
	known := envNames()
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "HCINIT_") && !slices.Contains(known, k) {
			warns = append(warns, "unknown variable "+k+" ignored (a typo? hcinit reads HCINIT_<OPTION>, e.g. HCINIT_CHECK)")
		}
	}
	return warns
}

// argWarnings names the options that say nothing (before the command).
func argWarnings(args []string) []string {
	var warns []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") {
			break
		}
		if a == "--socket=" || a == "--socket" && i+1 < len(args) && args[i+1] == "" {
			warns = append(warns, `--socket "" names no socket: the default sockets are used`)
		}
	}
	return warns
}

// scheduleWarnings names a start interval with no start period to apply in
// (Docker's rule: it is the interval while starting inside the start period,
// moby daemon/health.go) and --http-details with no --http.
func scheduleWarnings(cfg config) []string {
	var warns []string
	h := cfg.Health
	specs := append([]health.Spec(nil), h.Checks...)
	for _, s := range h.Specs {
		if sp, err := health.ParseSpec(s); err == nil {
			specs = append(specs, sp)
		}
	}
	period := func(sp health.Spec) time.Duration {
		if sp.StartPeriod == health.Unset {
			return h.StartPeriod
		}
		return sp.StartPeriod
	}
	globalUsed := len(h.Specs) == 0 && len(h.Checks) == 0 && h.StartPeriod > 0 // the default process check
	for _, sp := range specs {
		switch {
		case sp.StartInterval == health.Unset:
			globalUsed = globalUsed || period(sp) > 0
		case period(sp) == 0:
			warns = append(warns, "check "+specName(sp)+": start-interval="+sp.StartInterval.String()+" never takes effect without a start period (start-period=)")
		}
	}
	if h.StartInterval != health.DefaultStartInterval && !globalUsed {
		warns = append(warns, "--start-interval "+h.StartInterval.String()+" never takes effect without a start period for it (--start-period): it is the interval while starting inside one")
	}
	if h.HTTPDetails && h.HTTPAddr == "" {
		warns = append(warns, "--http-details without --http: there is no HTTP endpoint to show details on")
	}
	return warns
}

// specName is a spec's name, or its kind when unnamed.
func specName(sp health.Spec) string {
	if sp.Name != "" {
		return sp.Name
	}
	return sp.Kind
}
