// Package client probes a go-healthcheck server. Imported for its side effect,
//
//	import _ "github.com/wisdom-oss/go-healthcheck/client"
//
// it makes any binary answer the -healthcheck flag (anywhere among its
// arguments) before main runs, exactly like go-healthcheck v1.0.x: it probes
// the server, prints "healthcheck passed. service operational" and exits 0
// when the reply is "healthy", and otherwise prints the reply or the error to
// stderr and exits 1. Without the flag it does nothing.
//
// The server is found through, in order: $HEALTHCHECK_SOCKET (a full socket
// address), the name file $HEALTHCHECK_NAME_FILE or .hc-socket in the working
// directory, resolved against $HEALTHCHECK_SOCKET_DIR or /tmp/, and with no
// name file at all, hcinit's own sockets. On Linux the server must prove it
// runs in the caller's container (SO_PEERCRED: its process is in the caller's
// pid namespace and shares its mount namespace), and the hcinit found without
// a name file must be the container's own (on the host, which is no container,
// none is); another container's server, reachable through an abstract socket
// that containers sharing a network namespace share, is never believed. The
// probe has its own 10 s deadline and never forks.
//
// Check and Probe offer the same probe as an API, with options that override
// the environment.
package client

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/hcclient"
)

// Flag is the argument that turns a binary into a health check client.
const Flag = "-healthcheck"

// PassedMessage is printed to stdout when the server reports healthy.
const PassedMessage = "healthcheck passed. service operational"

// Option changes how Check and Probe find and ask the server.
type Option func(*options)

type options struct{ hcclient.Options }

// WithSocket dials addr (a unix socket path, "@name" for a Linux abstract
// socket, or a named pipe on Windows) instead of looking for a name file.
func WithSocket(addr string) Option { return func(o *options) { o.Socket = addr } }

// WithNameFile reads the socket name from path instead of
// $HEALTHCHECK_NAME_FILE or .hc-socket.
func WithNameFile(path string) Option { return func(o *options) { o.NameFile = path } }

// WithSocketDir resolves the socket name against dir instead of
// $HEALTHCHECK_SOCKET_DIR or /tmp/.
func WithSocketDir(dir string) Option { return func(o *options) { o.Dir = dir } }

// WithTimeout bounds the whole probe (dial, write, read); the default is 10 s.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.Timeout = d } }

// WithRequest sends req instead of "ping".
func WithRequest(req string) Option { return func(o *options) { o.Request = req } }

// UnhealthyError is Check's error when the server answered, but not "healthy".
type UnhealthyError struct {
	// Reply is the server's answer, white space trimmed.
	Reply string
}

func (e *UnhealthyError) Error() string {
	if e.Reply == "" {
		return "unhealthy: empty reply"
	}
	return e.Reply
}

// Probe sends one request to the server and returns its reply. The error is
// nil whenever the exchange worked, whatever the reply says.
func Probe(ctx context.Context, opts ...Option) (string, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return hcclient.Check(ctx, o.Options)
}

// Check probes the server and returns nil when it answered "healthy". When it
// answered anything else the error is an *UnhealthyError carrying the reply;
// any other error means the server could not be found or reached.
func Check(ctx context.Context, opts ...Option) error {
	reply, err := Probe(ctx, opts...)
	if err != nil {
		return err
	}
	if reply != common.HealthcheckIPCResponse {
		return &UnhealthyError{Reply: reply}
	}
	return nil
}

func init() {
	if code, handled := run(os.Args[1:], os.Stdout, os.Stderr); handled {
		os.Exit(code)
	}
}

// run is init's logic: it handles args only when they contain Flag, and then
// returns the exit code.
func run(args []string, stdout, stderr io.Writer) (code int, handled bool) {
	if !slices.Contains(args, Flag) {
		return 0, false
	}
	reply, err := Probe(context.Background())
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "healthcheck failed: %v\n", err)
		return 1, true
	case reply != common.HealthcheckIPCResponse:
		if reply == "" {
			reply = "healthcheck failed: empty reply"
		}
		fmt.Fprintln(stderr, reply)
		return 1, true
	}
	fmt.Fprintln(stdout, PassedMessage)
	return 0, true
}
