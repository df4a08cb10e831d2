// Package earlysig subscribes to every forwardable signal while the program is
// still initialising, before main runs. A Go program that receives SIGTERM
// between the runtime installing its handlers and main calling signal.Notify
// dies of it, or as PID 1 exits with status 2; importing this package first
// (its init runs before main's package's) shrinks that window to the runtime's
// own start-up. The subscription is never stopped: a PID 1 must keep handling
// signals until it exits.
//
// The client subcommands (check, status, version, -healthcheck anywhere among
// hcinit's options; see internal/subcmd) never supervise anything, so for them
// Signals and SIGCHLD stay nil and nothing is subscribed: a client must die of
// Ctrl-C like any tool, and start as fast as it can. Neither is anything
// subscribed inside a test binary, which must stay interruptible.
package earlysig

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/wisdom-oss/go-healthcheck/internal/siglist"
	"github.com/wisdom-oss/go-healthcheck/internal/subcmd"
)

// Signals receives the lethal signals from program start on, and every other
// forwardable one a moment later. Its buffer is sized for bursts (runc uses
// the same 2048) so none is dropped before the child exists.
//
// SIGCHLD receives SIGCHLD, for the reaper. It is subscribed together with the
// lethal signals: os/signal holds one lock across a Notify call, so a later
// Notify(SIGCHLD) would wait behind the background subscription below, and a
// child that exits at once would wait with it.
var Signals, SIGCHLD = subscribe(os.Args)

func subscribe(args []string) (chan os.Signal, chan os.Signal) {
	if len(args) > 1 {
		if sub, _ := subcmd.Of(args[1:]); sub != "" {
			return nil, nil
		}
	}
	// `go test` runs its binaries with -test.* flags first (-test.paniconexit0,
	// -test.timeout=…): there the subscription would only make the tests
	// immune to Ctrl-C. Tests start hcinit as a separate process.
	if len(args) > 1 && len(args[1]) > 6 && args[1][:6] == "-test." {
		return nil, nil
	}
	child := make(chan os.Signal, 16) // coalesced: the reaper loops until nothing is left
	signal.Notify(child, syscall.SIGCHLD)
	c := make(chan os.Signal, 2048)
	// Each Notify costs a round trip to the runtime's signal thread, about 50
	// of them in all. Only the lethal ones must be in place before main runs;
	// the runtime drops the rest while unsubscribed, so they are added in the
	// background, off the path of a child that exits at once.
	signal.Notify(c, siglist.Lethal...)
	go func() {
		signal.Notify(c, siglist.Forwardable...)
		signal.Notify(c, siglist.Absorbed...)
		close(subscribed)
	}()
	return c, child
}

// subscribed is closed once every forwardable and absorbed signal is subscribed.
var subscribed = make(chan struct{})

// Wait returns once every forwardable signal reaches Signals: call it before starting
// the child. The background subscription usually ends first, but not always
// (under load it may still run when the child has started), and a signal the
// runtime drops is lost for good, e.g. one the child sends hcinit as it starts.
// In a client mode, where nothing is subscribed, it returns at once.
func Wait() {
	if Signals != nil {
		<-subscribed
	}
}
