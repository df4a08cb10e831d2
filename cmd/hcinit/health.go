package main

import (
	"os"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wisdom-oss/go-healthcheck/internal/memtrim"
	"github.com/wisdom-oss/go-healthcheck/supervisor"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

var checkHelp = health.SpecSyntax + "\n" + checkUsage + "\n" + statusUsage

// shared is what the child actor and the health side both work with, made
// before either.
type shared struct {
	reaper   *reaper.Reaper
	id       *supervisor.Identity
	sent     *supervisor.SignalCounts // signals sent to the child, for /metrics
	mainPIDs supervisor.MainPIDs      // MAINPID= from the notify socket to the child actor
}

// newHealth builds the health side from the supervisor's configuration. It binds
// the sockets now, so they exist before the child's first instruction.
func newHealth(cfg supervisor.Config, log *logrus.Logger, sh shared) (*health.Monitor, error) {
	var cred *syscall.Credential
	if sh.id != nil {
		cred = sh.id.Cred
	}
	dir, _ := os.Getwd()
	return health.New(health.Config{
		Specs:            cfg.Checks,
		Checks:           cfg.Specs,
		Interval:         cfg.Interval,
		Timeout:          cfg.Timeout,
		StartPeriod:      cfg.StartPeriod,
		StartInterval:    cfg.StartInterval,
		Retries:          cfg.Retries,
		SuccessThreshold: cfg.SuccessThreshold,
		Socket:           cfg.Socket,
		HTTPAddr:         cfg.HTTPAddr,
		HTTPDetails:      cfg.HTTPDetails,
		Watchdog:         cfg.Watchdog,
		WatchdogSignal:   cfg.WatchdogSignal,
		NotifyAccess:     cfg.NotifyAccess,
		Version:          version,
		MainPID:          sh.mainPIDs.Set,
		Dir:              dir,
		Log:              log,
		// The first result's code and logging are done with once it is in:
		// hand those pages back too (see internal/memtrim).
		Settled: func() { time.AfterFunc(100*time.Millisecond, memtrim.Idle) },
		// A check that runs seldom maps its code back in each time: hand it
		// back after the result (see memtrim.AfterCheck).
		Checked: memtrim.AfterCheck,
		// After a burst of connections: the garbage and free pages it left.
		Trim:   memtrim.Idle,
		Reaper: sh.reaper,
		Cred:   cred,

		SignalsForwarded: sh.sent.ByName,
	})
}
