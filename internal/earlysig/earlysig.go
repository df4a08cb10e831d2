// Package earlysig subscribes to every forwardable signal while the program is
// still initialising, before main runs. A Go program that receives SIGTERM
// between the runtime installing its handlers and main calling signal.Notify
// dies of it, or as PID 1 exits with status 2; importing this package first
// shrinks that window to the runtime's own start-up. The subscription is never
// stopped: a PID 1 must keep handling signals until it exits.
package earlysig

import (
	"os"
	"os/signal"

	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
)

// C receives every forwardable signal from program start on. Its buffer is sized
// for bursts (runc uses the same 2048) so none is dropped before the child exists.
var C = subscribe()

func subscribe() chan os.Signal {
	c := make(chan os.Signal, 2048)
	signal.Notify(c, sigs.Forwardable...)
	return c
}
