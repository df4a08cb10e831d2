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

// checkHelp is the help's part about checks and the client commands.
func checkHelp() string { return health.SpecSyntax + "\n" + checkUsage() + "\n" + statusUsage() }

// shared is what the child actor and the health side both work with, made
// before either.
type shared struct {
	reaper   *reaper.Reaper
	id       *supervisor.Identity
	sent     *supervisor.SignalCounts // signals sent to the child, for /metrics
	mainPIDs supervisor.MainPIDs      // MAINPID= from the notify socket to the child actor
	extends  supervisor.Extensions    // EXTEND_TIMEOUT_USEC= from the notify socket to the child actor
}

// newHealth builds the health side from its settings. It binds
// the sockets now, so they exist before the child's first instruction.
func newHealth(cfg config, log *logrus.Logger, sh shared) (*health.Monitor, error) {
	var cred *syscall.Credential
	var home string
	if sh.id != nil {
		cred, home = sh.id.Cred, sh.id.Home
	}
	dir, _ := os.Getwd()
	hc := cfg.Health // the settings; then what only this process knows
	hc.Version = version
	hc.MainPID = sh.mainPIDs.Set
	hc.ExtendStop = sh.extends.Extend
	hc.Dir = dir
	hc.Log = log
	// The first result's code and logging are done with once it is in:
	// hand those pages back too (see internal/memtrim).
	hc.Settled = func() { time.AfterFunc(100*time.Millisecond, memtrim.Idle) }
	// A check that runs seldom maps its code back in each time: hand it
	// back after the result (see memtrim.AfterCheck).
	hc.Checked = memtrim.AfterCheck
	// After a burst of connections: the garbage and free pages it left.
	hc.Trim = memtrim.Idle
	hc.Reaper = sh.reaper
	hc.Cred, hc.Home = cred, home
	hc.SignalsForwarded = sh.sent.ByName
	return health.New(hc)
}
