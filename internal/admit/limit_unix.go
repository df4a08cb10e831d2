//go:build !windows

package admit

import "syscall"

// FileLimit is the process's soft RLIMIT_NOFILE, -1 when unknown.
//
// The Go runtime (since Go 1.19) raises the soft limit to the hard one when a
// program starts, and os/exec gives the processes it starts the soft limit the
// program was started with, so a supervised child sees what it would have
// seen without us, as under tini. FileLimit is therefore the raised limit.
func FileLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return -1
	}
	return int(rl.Cur)
}
