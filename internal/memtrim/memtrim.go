// Package memtrim hands memory that only start-up needed back to the kernel.
//
// A Go binary's text and read-only data are mapped from the executable file and
// almost all of it is touched while the program starts, so an idle supervisor
// would keep several MiB resident that it does not use again. Idle asks the
// kernel to page out the executable's file mappings (MADV_PAGEOUT, Linux 5.4+)
// and returns free heap pages; whatever code runs later faults back in from the
// page cache. Nothing here is needed for correctness: every error is ignored.
package memtrim

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Idle trims once; call it when start-up is over.
func Idle() {
	debug.FreeOSMemory()
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(s.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT)
	}
}
