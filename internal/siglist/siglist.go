// Package siglist names the signals hcinit subscribes to, and nothing else.
// It imports only os and syscall, so internal/earlysig, which subscribes them
// in its init, depends on no more than os/signal does: Go initialises packages
// in import-path order as their imports become ready (Go 1.21+), and with
// fmt, strings or golang.org/x/sys/unix among its imports earlysig's init ran
// 56th of the binary's 77, behind crypto/*, encoding/json and logrus; now it
// runs right after os/signal (GODEBUG=inittrace=1). internal/sigs re-exports
// these lists.
package siglist

import (
	"os"
	"syscall"
)

// Lethal are the forwardable signals the Go runtime turns into an exit (or, for
// QUIT, a goroutine dump) while nobody is subscribed to them; it drops the
// others. They are subscribed first.
var Lethal = []os.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT}

// Forwardable lists every signal hcinit subscribes to and forwards to its child.
var Forwardable = func() []os.Signal {
	s := []os.Signal{
		syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2,
		syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTERM, syscall.SIGCONT, syscall.SIGTSTP,
		syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGVTALRM,
		syscall.SIGWINCH, syscall.SIGIO, syscall.SIGPWR, syscall.SIGSYS, syscall.SIGSTKFLT,
	}
	// Real-time signals 35..64. The Go runtime keeps 32, 33 and 34 for itself
	// (glibc's and musl's thread signals) and SIGPROF (its profiler's) for
	// itself and never hands them to os/signal (runtime/sigtab_linux_generic.go,
	// runtime/signal_unix.go sigenable), so those are left out. SIGSYS and
	// SIGSTKFLT sent with kill(2) do reach os/signal, and without a subscription
	// the runtime crashes on them.
	for n := 35; n <= 64; n++ {
		s = append(s, syscall.Signal(n))
	}
	return s
}()

// Absorbed are the synchronous fault signals. A real fault in hcinit still
// panics; one sent with kill(2) would make the Go runtime crash PID 1 unless
// somebody subscribed, so hcinit subscribes and drops them: they concern hcinit,
// not its child.
var Absorbed = []os.Signal{syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGILL, syscall.SIGTRAP, syscall.SIGABRT}
