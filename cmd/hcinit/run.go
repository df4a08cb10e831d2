package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	oklog "github.com/oklog/run"
	"github.com/sirupsen/logrus"

	"github.com/wisdom-oss/go-healthcheck/internal/earlysig"
	"github.com/wisdom-oss/go-healthcheck/internal/subcmd"
	"github.com/wisdom-oss/go-healthcheck/supervisor"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// run is hcinit without the process around it: client commands, flags, then
// the components in dependency order and one run.Group with every actor. It
// returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, code, done := commandLine(args, stdout, stderr)
	if done {
		return code
	}
	log := newLogger(cfg, stderr)
	for _, w := range startupWarnings(cfg, args, os.Environ()) {
		log.Warn(w)
	}

	id, err := supervisor.ResolveUser(cfg.User) // identity first: both sides need it
	if err != nil {
		fmt.Fprintf(stderr, "hcinit: %s\n", errLine(err))
		return 2
	}
	r := reaper.New(zombieLogger(cfg, log))
	sh := shared{reaper: r, id: id, sent: new(supervisor.SignalCounts), mainPIDs: supervisor.NewMainPIDs(),
		extends: supervisor.NewExtensions()}
	checks, err := newHealth(cfg, log, sh) // binds the sockets before the fork
	if err != nil {
		return startError(stderr, err)
	}
	defer checks.Close()
	// A signal sent the moment the child runs (by the child, by docker kill)
	// must reach it: the rest of the subscription is in place before the fork
	// (BeforeStart); the actors start meanwhile.
	child := supervisor.New(cfg.Config, supervisor.Deps{Reaper: r, Identity: id, Observer: checks,
		Env: checks.ChildEnv(), Sent: sh.sent, MainPIDs: sh.mainPIDs, Extends: sh.extends, Log: log, BeforeStart: earlysig.Wait})

	var g oklog.Group
	{ // reaper: the only wait4 (SIGCHLD subscribed before main, internal/earlysig)
		stop := make(chan struct{})
		g.Add(func() error { r.RunOn(earlysig.SIGCHLD, stop); return nil }, func(error) { close(stop) })
	}
	{ // child: start, forward, stop; it returns once the tree is empty and ends the group
		g.Add(func() error { return child.Run(earlysig.Signals) }, child.Interrupt)
	}
	{ // checks: one loop per check, Docker's state machine
		g.Add(keep(log, checks.RunChecks, checks.Interrupt))
	}
	for _, ln := range checks.Sockets() { // wrapper sockets: answer from the state, never run a check
		g.Add(keep(log, func() error { return checks.ServeSocket(ln) }, checks.Interrupt))
	}
	{ // NOTIFY_SOCKET: the child's sd_notify messages
		g.Add(keep(log, checks.RunNotify, checks.Interrupt))
	}
	{ // --http: /livez, /readyz, /healthz, /status
		g.Add(keep(log, checks.ServeHTTP, checks.Interrupt))
	}
	{ // name files: the child's own health socket becomes a delegate check
		g.Add(keep(log, checks.Watch, checks.Interrupt))
	}
	err = g.Run()
	if ee := (*supervisor.ExitError)(nil); err != nil && !errors.As(err, &ee) {
		log.WithError(err).Error("supervisor failed")
	}
	return supervisor.ExitStatus(err)
}

// startError reports a health side that cannot start and returns status 2.
// A taken --http port or --socket is no usage error: no hint at --help for it.
func startError(stderr io.Writer, err error) int {
	if oe := (*net.OpError)(nil); errors.As(err, &oe) || errors.Is(err, health.ErrUnbound) {
		fmt.Fprintf(stderr, "hcinit: %s\n", errLine(err))
	} else {
		fmt.Fprintf(stderr, "hcinit: %s\nTry 'hcinit --help'.\n", errLine(err))
	}
	return 2
}

// commandLine handles what args ask for other than supervising: the client
// modes, help, version and --print-config; done says it did, and code is the
// exit status then. Otherwise cfg is the supervisor's configuration.
func commandLine(args []string, stdout, stderr io.Writer) (cfg config, code int, done bool) {
	// A client mode never exits 2 (Docker's reserved code): what a health
	// probe sends, -healthcheck anywhere among hcinit's options included,
	// goes to the client, whose every failure is 1.
	switch sub, rest := subcmd.Of(args); sub {
	case "check":
		return cfg, checkMain(rest, stdout, stderr), true
	case "status":
		return cfg, statusMain(rest, stdout, stderr), true
	case "version":
		return cfg, versionMain(rest, stdout, stderr), true
	}
	if len(args) == 1 && args[0] == "help" {
		// `hcinit help`, as `go help` and `docker help`; a command named
		// help still runs as `hcinit -- help`.
		printUsage(stdout, checkHelp())
		return cfg, 0, true
	}
	cfg, err := parseArgs(args, ownEnv())
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "hcinit: %s\nTry 'hcinit --help'.\n", errLine(err))
		return cfg, 2, true
	case cfg.Help:
		printUsage(stdout, checkHelp())
		return cfg, 0, true
	case cfg.Version:
		return cfg, versionMain(nil, stdout, stderr), true
	case cfg.PrintConfig:
		if err := printConfig(stdout, cfg); err != nil {
			fmt.Fprintf(stderr, "hcinit: print config: %s\n", errLine(err))
			return cfg, 1, true
		}
		return cfg, 0, true
	}
	return cfg, 0, false
}

// keep runs a health actor, which must never end the group: a failure is
// logged, then it waits for its interrupt. A broken health side must never
// take the child down.
func keep(log *logrus.Logger, execute func() error, interrupt func(error)) (func() error, func(error)) {
	done := make(chan struct{})
	var once sync.Once
	return func() error {
			if err := execute(); err != nil {
				log.WithError(err).WithField("component", "health").Error("health stopped")
			}
			<-done
			return nil
		}, func(err error) {
			once.Do(func() {
				interrupt(err)
				close(done)
			})
		}
}

// zombieLogger reports reaped processes nobody waited for, with --warn-zombies.
func zombieLogger(cfg config, log *logrus.Logger) func(reaper.Exit, bool) {
	if !cfg.WarnZombies {
		return nil
	}
	return func(e reaper.Exit, claimed bool) {
		if !claimed {
			log.WithFields(logrus.Fields{"component": "reaper", "pid": e.Pid, "exit_code": e.Code()}).Warn("reaped zombie")
		}
	}
}

func newLogger(cfg config, stderr io.Writer) *logrus.Logger {
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

// maxErrLine bounds a start-up error line: the bad value it quotes may be
// anything a flag, a variable or a file holds.
const maxErrLine = 1024

// errLine is err as one line of at most maxErrLine bytes: control characters
// (a newline in a file name, ESC) escaped as check and status escape them.
func errLine(err error) string {
	s := printable(err.Error(), false)
	if len(s) <= maxErrLine {
		return s
	}
	cut := maxErrLine - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// ownEnv is how hcinit reads its environment. Below a parent hcinit (an
// ENTRYPOINT hcinit running a command that is hcinit again) the HCINIT_*
// variables are the parent's configuration, which the child inherits: the
// inner hcinit took the parent's HCINIT_HTTP port and HCINIT_SOCKET, could
// not bind them, and exited 2, ending the container. There only the command
// line (and its --config) configures it.
func ownEnv() func(string) string {
	if _, _, below := health.ParentHcinit(); !below {
		return os.Getenv
	}
	return func(name string) string {
		if strings.HasPrefix(name, "HCINIT_") {
			return ""
		}
		return os.Getenv(name)
	}
}
