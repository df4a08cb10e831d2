// Package memtrim hands memory that only start-up needed back to the kernel.
//
// A Go binary's text and read-only data are mapped from the executable file and
// almost all of it is touched while the program starts, so an idle supervisor
// would keep several MiB resident that it does not use again. Idle drops the
// executable's read-only file mappings from the page tables (MADV_DONTNEED) and
// returns free heap pages; the page cache keeps the file, so whatever code runs
// later faults back in cheaply. Only mappings without write permission are
// touched: for those, MADV_DONTNEED loses nothing (the pages are the file's
// bytes). MADV_PAGEOUT would also evict the page cache, and it skips pages
// another process maps — every other hcinit started from the same image.
// Nothing here is needed for correctness: every error is ignored.
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
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return
	}
	defer f.Close()
	var regions [][2]uint64
	var cur *[2]uint64 // the executable's read-only mapping being read, if any
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			// A mapping header: start-end perms offset dev inode [path].
			cur = nil
			if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
				continue
			}
			lo, hi, _ := strings.Cut(fields[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil && end > start {
				regions = append(regions, [2]uint64{start, end})
				cur = &regions[len(regions)-1]
			}
			continue
		}
		// A mapping with private copies (relocated pages of a PIE) must keep
		// them: dropping those would bring back the file's unrelocated bytes.
		if cur != nil && fields[0] == "Anonymous:" && len(fields) >= 2 && fields[1] != "0" {
			cur[1] = cur[0]
			cur = nil
		}
	}
	for _, r := range regions {
		if r[1] > r[0] {
			_, _, _ = unix.Syscall(unix.SYS_MADVISE, uintptr(r[0]), uintptr(r[1]-r[0]), unix.MADV_DONTNEED)
		}
	}
}
