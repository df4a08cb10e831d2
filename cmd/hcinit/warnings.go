package main

import (
	"slices"
	"strings"

	"github.com/wisdom-oss/go-healthcheck/supervisor"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// startupWarnings names the settings that can never take effect as given, so
// a typo or a misunderstanding shows in the first lines of the log instead of
// at the first incident. args are hcinit's arguments, environ its environment.
func startupWarnings(cfg config, args, environ []string) []string {
	warns := configWarnings(cfg)
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
