// Package sigs names the signals hcinit forwards and parses signal names and
// numbers the way operators write them (TERM, SIGTERM, 15, RTMIN+3).
//
// The forwardable list is explicit: SIGCHLD belongs to the reaper, SIGURG is the
// Go runtime's preemption signal, and the synchronous faults (SEGV, BUS, FPE, ILL,
// TRAP, ABRT) concern hcinit itself, so none of them is ever forwarded.
package sigs

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/internal/siglist"
)

// Lethal, Forwardable and Absorbed are internal/siglist's lists (see there).
var (
	Lethal      = siglist.Lethal
	Forwardable = siglist.Forwardable
	Absorbed    = siglist.Absorbed
)

// IsAbsorbed reports whether sig is in Absorbed.
func IsAbsorbed(sig unix.Signal) bool {
	for _, s := range Absorbed {
		if s == sig {
			return true
		}
	}
	return false
}

// IsForwardable reports whether sig is in Forwardable.
func IsForwardable(sig unix.Signal) bool {
	for _, s := range Forwardable {
		if s == sig {
			return true
		}
	}
	return false
}

// Parse turns "TERM", "SIGTERM", "term", "15" or "RTMIN+2" into a signal. "0"
// parses as 0, which callers use to mean "drop".
func Parse(s string) (unix.Signal, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if t == "" {
		return 0, fmt.Errorf("empty signal")
	}
	if n, err := strconv.Atoi(t); err == nil {
		if n < 0 || n > 64 {
			return 0, fmt.Errorf("signal %q out of range 0..64", s)
		}
		return unix.Signal(n), nil
	}
	t = strings.TrimPrefix(t, "SIG")
	if strings.HasPrefix(t, "RTMIN") || strings.HasPrefix(t, "RTMAX") {
		base, off := 34, 0
		if strings.HasPrefix(t, "RTMAX") {
			base = 64
		}
		rest := t[5:]
		if rest != "" {
			n, err := strconv.Atoi(rest)
			if err != nil {
				return 0, fmt.Errorf("unknown signal %q", s)
			}
			off = n
		}
		n := base + off
		if n < 34 || n > 64 {
			return 0, fmt.Errorf("signal %q out of range", s)
		}
		return unix.Signal(n), nil
	}
	if sig := unix.SignalNum("SIG" + t); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// Name returns "SIGTERM" for SIGTERM and "SIG37" for a signal without a name.
func Name(sig unix.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	if sig >= 34 && sig <= 64 {
		return fmt.Sprintf("SIGRTMIN+%d", int(sig)-34)
	}
	return fmt.Sprintf("SIG%d", int(sig))
}
