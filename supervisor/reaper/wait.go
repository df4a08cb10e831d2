package reaper

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// anyChild is wait4's pid -1, as a system call argument.
var anyChild = -1

// waitNoHang is wait4(-1, ws, WNOHANG, nil) without telling the scheduler: it
// never blocks, and unix.Wait4's entersyscall would wake the runtime's sysmon
// thread on every pass (about 60 wake-ups of it after each one).
func waitNoHang(ws *unix.WaitStatus) (int, error) {
	pid, _, errno := unix.RawSyscall6(unix.SYS_WAIT4, uintptr(anyChild), uintptr(unsafe.Pointer(ws)), unix.WNOHANG, 0, 0, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(pid), nil
}
