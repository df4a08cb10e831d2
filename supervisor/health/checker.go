package health

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
	"github.com/wisdom-oss/go-healthcheck/supervisor/reaper"
)

// Kind is what a check looks at, as --check names it (KindProcess, KindHTTP…).
type Kind string

// A checker looks at the child once, under the check's timeout (ctx): code 0
// passes. It holds what its kind needs and nothing of the scheduler, which
// times the runs and keeps the state (check.go); the shape is Pebble's
// (internal/overlord/checkstate: one checker type per kind).
type checker interface {
	Check(ctx context.Context) outcome
}

// checkDeps is what checkers need from the rest of the health side.
type checkDeps struct {
	pid    func() int          // the supervised (main) process, 0 while none runs
	notify *notifier           // nil without NOTIFY_SOCKET
	reaper *reaper.Reaper      // the single wait owner, for exec checks
	cred   *syscall.Credential // the child's user: exec checks run as it; nil = hcinit's own
	home   string              // the child's HOME, for exec checks; "" = hcinit's own
	dir    string              // exec checks' working directory
	ua     string              // the User-Agent of http checks
	log    *logrus.Entry
	// delegate returns a delegate check's addresses, in order of preference,
	// whether the child announced them (its name file) rather than the spec
	// naming one, and whether that is a nested hcinit (nested.go); open
	// makes an announced socket safe to dial (announced.go).
	delegate func() (addrs []string, announced, nested bool)
	open     func(path string) (addr string, release func(), err error)
}

// Checkers, one type per kind. The HTTP and gRPC wire code is in
// httpclient.go and grpc.go, the exec fork in exec.go.
type (
	// processChecker passes while the child exists and is neither a zombie
	// nor stopped.
	processChecker struct{ pid func() int }
	// tcpChecker passes when a TCP connection to addr opens.
	tcpChecker struct{ addr string }
	// fileChecker passes when path exists and, with maxAge > 0, was
	// modified within maxAge.
	fileChecker struct {
		path   string
		maxAge time.Duration
	}
	// execChecker runs argv as the child's user, through the reaper.
	execChecker struct {
		argv   []string
		dir    string
		cred   *syscall.Credential
		home   string
		reaper *reaper.Reaper
		log    *logrus.Entry
	}
	// notifyChecker reads what the child said over NOTIFY_SOCKET.
	notifyChecker struct{ n *notifier }
	// signalChecker sends sig to the child and waits for a heartbeat:
	// "notify" (any NOTIFY_SOCKET message) or a file's new mtime.
	signalChecker struct {
		pid       func() int
		sig       unix.Signal
		heartbeat string
		notify    *notifier
	}
	// delegateChecker asks the child's own health socket.
	delegateChecker struct {
		target func() (addrs []string, announced, nested bool)
		open   func(path string) (addr string, release func(), err error)
		level  Level // which of a nested hcinit's answers it asks (nestedWord)
	}
	// httpChecker GETs a URL by kubelet's rules (newHTTPProbe).
	httpChecker struct{ get func(context.Context) outcome }
	// grpcChecker calls grpc.health.v1.Health/Check (newGRPCProbe).
	grpcChecker struct{ call func(context.Context) outcome }
)

func (c httpChecker) Check(ctx context.Context) outcome { return c.get(ctx) }
func (c grpcChecker) Check(ctx context.Context) outcome { return c.call(ctx) }

// buildable refuses at start what can never run: an unknown kind, an exec
// check without the reaper, a missing or non-executable exec probe.
func buildable(sp Spec, r *reaper.Reaper) error {
	switch Kind(sp.Kind) {
	case KindProcess, KindTCP, KindGRPC, KindHTTP, KindHTTPS, KindFile, KindNotify, KindSignal, KindDelegate:
		return nil
	case KindExec:
		if r == nil {
			return fmt.Errorf("check %s: an exec check needs the reaper", sp.Name)
		}
		if _, err := exec.LookPath(sp.Argv[0]); err != nil {
			return fmt.Errorf("check %s: exec %s: %w", sp.Name, sp.Argv[0], errors.Unwrap(err))
		}
		return nil
	}
	return fmt.Errorf("check %s: unknown kind %q", sp.Name, sp.Kind)
}

// newChecker builds the checker of a buildable spec whose defaults are
// resolved.
func newChecker(sp Spec, d checkDeps) checker {
	switch Kind(sp.Kind) {
	case KindProcess:
		return processChecker{pid: d.pid}
	case KindTCP:
		return tcpChecker{addr: sp.Addr}
	case KindGRPC:
		return grpcChecker{call: newGRPCProbe(sp)}
	case KindHTTP, KindHTTPS:
		return httpChecker{get: newHTTPProbe(sp, d.ua)}
	case KindFile:
		return fileChecker{path: sp.Path, maxAge: sp.MaxAge}
	case KindExec:
		return execChecker{argv: sp.Argv, dir: d.dir, cred: d.cred, home: d.home, reaper: d.reaper, log: d.log}
	case KindNotify:
		return notifyChecker{n: d.notify}
	case KindSignal:
		return signalChecker{pid: d.pid, sig: sp.Signal, heartbeat: sp.Heartbeat, notify: d.notify}
	case KindDelegate:
		return delegateChecker{target: d.delegate, open: d.open, level: sp.Level}
	}
	return nil // refused by buildable
}

// describe is what a check of sp looks at, for the status output and logs;
// URL passwords are redacted.
func describe(sp Spec) string {
	var s string
	switch Kind(sp.Kind) {
	case KindProcess:
		s = "the child process"
	case KindTCP:
		s = sp.Addr
	case KindGRPC:
		s = sp.Addr
		if sp.Service != "" {
			s += " service " + sp.Service
		}
	case KindHTTP, KindHTTPS:
		s = sp.URL
	case KindFile:
		s = sp.Path
	case KindExec:
		s = strings.Join(sp.Argv, " ")
	case KindNotify:
		s = "NOTIFY_SOCKET"
	case KindSignal:
		s = sigs.Name(sp.Signal) + ", heartbeat " + sp.Heartbeat
	case KindDelegate:
		s = "the child's health socket (not announced yet)"
	}
	return redactURLs(s)
}
