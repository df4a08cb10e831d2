package reaper

import (
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sigaction is the kernel's struct sigaction, opaque but for the handler, which
// comes first on every architecture hcinit is built for (amd64, arm64, arm,
// 386, ppc64le, s390x, riscv64); 40 bytes hold the largest of them.
type sigaction struct {
	handler uintptr
	_       [32]byte
}

const (
	sigDFL     = 0
	sigIGN     = 1
	sigsetSize = 8 // _NSIG/8 on those architectures
)

// chld is SIGCHLD's disposition, shared by every Reaper in the process.
var chld struct {
	sync.Mutex
	n      int       // waiters that have it at the default action
	saved  sigaction // the action to put back: Go's handler
	failed bool      // rt_sigaction refused once, or SIGCHLD is ignored: leave it alone
}

func rtSigaction(act, old *sigaction) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(unix.SIGCHLD),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), sigsetSize, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// hush sets SIGCHLD to its default action, under which the kernel sends no
// signal at all for a child's exit (wait4 is still woken; unlike SIG_IGN, the
// default keeps zombies for wait4 to collect). It reports whether it did.
func hush() bool {
	chld.Lock()
	defer chld.Unlock()
	if chld.failed {
		return false
	}
	if chld.n == 0 {
		var old sigaction
		if err := rtSigaction(&sigaction{handler: sigDFL}, &old); err != nil {
			chld.failed = true
			return false
		}
		if old.handler == sigIGN || old.handler == sigDFL {
			// signal.Ignore'd (the kernel reaps by itself) or not Go's: put
			// it back and never touch it again.
			_ = rtSigaction(&old, nil)
			chld.failed = true
			return false
		}
		chld.saved = old
	}
	chld.n++
	return true
}

// loud undoes one hush: the last one puts Go's handler back.
func loud() {
	chld.Lock()
	defer chld.Unlock()
	chld.n--
	if chld.n == 0 {
		_ = rtSigaction(&chld.saved, nil)
	}
}
