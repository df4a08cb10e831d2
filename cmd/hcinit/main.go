// Command hcinit is a PID-1 supervisor that gives unmodified applications real
// health checks. See `hcinit --help`.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/sirupsen/logrus"

	"github.com/wisdom-oss/go-healthcheck/internal/earlysig"
	"github.com/wisdom-oss/go-healthcheck/internal/subcmd"
	"github.com/wisdom-oss/go-healthcheck/supervisor"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is hcinit without the process around it: it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	// A client mode never exits 2 (Docker's reserved code): what a health
	// probe sends, -healthcheck anywhere among hcinit's options included,
	// goes to the client, whose every failure is 1.
	switch sub, rest := subcmd.Of(args); sub {
	case "check":
		return checkMain(rest, stdout, stderr)
	case "status":
		return statusMain(rest, stdout, stderr)
	case "version":
		return versionMain(rest, stdout, stderr)
	}
	if len(args) == 1 && args[0] == "help" {
		// `hcinit help`, as `go help` and `docker help`; a command named
		// help still runs as `hcinit -- help`.
		supervisor.PrintUsage(stdout, checkHelp)
		return 0
	}
	cfg, err := supervisor.Parse(args, os.Getenv)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "hcinit: %v\nTry 'hcinit --help'.\n", err)
		return 2
	case cfg.Help:
		supervisor.PrintUsage(stdout, checkHelp)
		return 0
	case cfg.Version:
		return versionMain(nil, stdout, stderr)
	case cfg.PrintConfig:
		if err := supervisor.PrintConfig(stdout, cfg); err != nil {
			fmt.Fprintf(stderr, "hcinit: print config: %v\n", err)
			return 1
		}
		return 0
	}
	log := newLogger(cfg, stderr)
	var onReap func(reaper.Exit, bool)
	if cfg.WarnZombies {
		onReap = func(e reaper.Exit, claimed bool) {
			if !claimed {
				log.WithFields(logrus.Fields{"component": "reaper", "pid": e.Pid, "exit_code": e.Code()}).Warn("reaped zombie")
			}
		}
	}
	r := reaper.New(onReap)
	s, err := supervisor.New(cfg, earlysig.C, log, r)
	if err != nil {
		fmt.Fprintf(stderr, "hcinit: %v\n", err)
		return 2
	}
	h, err := newHealth(cfg, log, r, s)
	if err != nil {
		fmt.Fprintf(stderr, "hcinit: %v\nTry 'hcinit --help'.\n", err)
		return 2
	}
	if h != nil {
		s.SetHealth(h)
	}
	s.SetChildSignals(earlysig.Child)
	// A signal sent the moment the child runs (by the child, by docker kill)
	// must reach it: the rest of the subscription is in place before it starts.
	earlysig.Wait()
	return s.Run()
}

func newLogger(cfg supervisor.Config, stderr io.Writer) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(stderr)
	if cfg.LogFormat == "json" {
		log.SetFormatter(&logrus.JSONFormatter{})
	} else {
		log.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	}
	level, err := logrus.ParseLevel(cfg.LogLevel)
	if err != nil {
		level = logrus.InfoLevel
	}
	// tini's verbosity, when given, decides: 0 errors, 1 warnings, 2 info, 3 debug.
	switch {
	case cfg.Verbosity == 0:
		level = logrus.ErrorLevel
	case cfg.Verbosity == 1:
		level = logrus.WarnLevel
	case cfg.Verbosity == 2:
		level = logrus.InfoLevel
	case cfg.Verbosity >= 3:
		level = logrus.DebugLevel
	}
	log.SetLevel(level)
	return log
}
