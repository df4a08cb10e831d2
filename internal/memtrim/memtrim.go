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
//
// The free heap pages are returned by a forced collection (debug.FreeOSMemory),
// and only when the anonymous memory grew by collectMin since Idle last
// looked: each collection leaves runtime metadata behind (mark bits, work
// buffers), 0.2–0.3 MiB for the first few, while a start-up allocates a few
// hundred KiB in all. Two forced collections at start-up made an idle hcinit
// 0.4–0.6 MiB larger than none.
// Nothing here is needed for correctness: every error is ignored.
package memtrim

import (
	"bufio"
	"bytes"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// collectMin is how much the anonymous memory must have grown since Idle
// last looked before it forces a collection.
const collectMin = 1 << 20

var (
	mu   sync.Mutex
	base int64 = -1 // anonymous bytes resident when Idle last looked (after its collection), -1 before the first call
)

// anonymous returns the bytes of anonymous memory resident, from
// /proc/self/statm (resident minus shared pages), or -1. runtime.ReadMemStats
// would tell how much was allocated, but it flushes every P's span cache to do
// so (0.2–0.5 MiB of span-set blocks the first time), and runtime/metrics
// costs 0.1 ms of package initialisation at every start. It reads with plain
// system calls into a stack buffer: under checks every second, the code a
// look runs stays mapped (os.ReadFile's and strconv's were 0.2 MiB of it).
func anonymous() int64 {
	fd, err := syscall.Open("/proc/self/statm", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	var b [128]byte // "size resident shared text lib data dt\n", in pages
	n, err := syscall.Read(fd, b[:])
	syscall.Close(fd)
	if err != nil || n <= 0 {
		return -1
	}
	var f [3]int64
	k := 0
	for _, c := range b[:n] {
		switch {
		case '0' <= c && c <= '9':
			f[k] = f[k]*10 + int64(c-'0')
		case c == ' ' && k < 2:
			k++
		case c == ' ':
			return (f[1] - f[2]) * int64(syscall.Getpagesize())
		default:
			return -1
		}
	}
	return -1
}

// Idle trims once; call it when start-up is over, or after a burst of work.
func Idle() {
	mu.Lock()
	defer mu.Unlock()
	if n := anon(); n < 0 {
		collect() // no /proc: collect every time
	} else {
		collectIfGrown(n)
	}
	drop()
}

// collectIfGrown forces a collection when the anonymous memory, n bytes now,
// grew by collectMin since the last look, and reports whether it did. The
// first look only takes the measure. Call with mu held.
func collectIfGrown(n int64) bool {
	switch {
	case base < 0 || n < base:
		base = n
	case n-base >= collectMin:
		collect()
		base = anon()
		return true
	}
	return false
}

// quietGap: check results further apart than this mean the checks run
// seldom (the default process check runs every 30 s), and the code a check
// maps back in would stay resident until the next one for nothing.
const quietGap = 10 * time.Second

var (
	lastCheck time.Time   // guarded by mu
	results   int         // results AfterCheck saw (guarded by mu)
	lastGCs   int64       // collections run when AfterCheck last looked (guarded by mu)
	regions   [][2]uint64 // the executable's read-only mappings, read once (guarded by mu)
	read      bool        // regions was read
	// tests replace these
	now     = time.Now
	drop    = dropExecutable
	anon    = anonymous
	collect = debug.FreeOSMemory
	gcs     = numGC
)

// lookEvery: AfterCheck reads the anonymous memory once per this many
// results (a read of /proc/self/statm is three system calls).
const lookEvery = 16

// AfterCheck hands the executable's pages back after a check result when the
// previous result came at least quietGap before: then the check code (about
// 0.9 MiB for the default process check) is mapped for one check and dropped
// again, for some 15 page faults the next time. When checks run more often,
// it leaves their code mapped.
//
// Every lookEvery results it also collects, as Idle does, once the anonymous
// memory grew by collectMin: nothing else would. A check every second
// allocates a few KiB, and with no other work the heap grows toward the
// runtime's 4 MiB minimum goal before its first collection, and the freed
// pages stay (RSS under 1 s HTTP checks: 5.0 MiB at 1 minute, 6.8-7.0 at 10).
// After any collection since the last look (this one, or the runtime's own,
// at least one every two minutes) the collector's code, which checks every
// second would keep mapped, is dropped again. Call it after each result.
func AfterCheck() {
	mu.Lock()
	defer mu.Unlock()
	t := now()
	prev := lastCheck
	lastCheck = t
	results++
	again := false // drop the executable's pages again
	if results%lookEvery == 0 {
		if n := anon(); n >= 0 {
			again = collectIfGrown(n)
		}
		// A collection maps the collector's code in, and checks every
		// second keep what they map: the runtime's own (one at least every
		// two minutes) left 0.5-1 MiB of it for good.
		g := gcs()
		again = again || g != lastGCs
		lastGCs = g
	}
	if again || !prev.IsZero() && t.Sub(prev) >= quietGap {
		drop()
	}
}

var gcStats debug.GCStats // numGC's, reused (guarded by mu)

// numGC returns how many collections the runtime has run.
func numGC() int64 {
	gcStats.PauseQuantiles = nil
	debug.ReadGCStats(&gcStats)
	return gcStats.NumGC
}

// dropExecutable drops the executable's read-only pages from the page tables
// (the page cache keeps them). Call with mu held.
func dropExecutable() {
	if !read {
		regions, read = executableRegions(), true
	}
	for _, r := range regions {
		_, _, _ = unix.Syscall(unix.SYS_MADVISE, uintptr(r[0]), uintptr(r[1]-r[0]), unix.MADV_DONTNEED)
	}
}

// executableRegions returns the executable's read-only mappings that hold
// nothing but the file's bytes. It reads /proc/self/smaps line by line
// without a string per line: when Idle forces no collection, its garbage
// stays resident.
func executableRegions() [][2]uint64 {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return nil
	}
	defer f.Close()
	var regions [][2]uint64
	cur := -1 // index in regions of the mapping being read, if it is one
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Bytes()
		switch {
		case len(line) > 0 && isHex(line[0]):
			// A mapping header: start-end perms offset dev inode [path].
			cur = -1
			if r, ok := readOnlyMapping(line, exe); ok {
				regions = append(regions, r)
				cur = len(regions) - 1
			}
		case cur >= 0 && bytes.HasPrefix(line, []byte("Anonymous:")):
			// A mapping with private copies (relocated pages of a PIE) must
			// keep them: dropping those would bring back the file's
			// unrelocated bytes.
			if string(bytes.TrimSpace(line[len("Anonymous:"):])) != "0 kB" {
				regions = regions[:cur]
			}
			cur = -1
		}
	}
	return regions
}

// readOnlyMapping parses a smaps header line and reports the mapping's range
// when it maps path without write permission.
func readOnlyMapping(line []byte, path string) ([2]uint64, bool) {
	fields := bytes.Fields(line)
	if len(fields) < 6 || string(fields[5]) != path || bytes.IndexByte(fields[1], 'w') >= 0 {
		return [2]uint64{}, false
	}
	lo, hi, _ := bytes.Cut(fields[0], []byte("-"))
	start, err1 := strconv.ParseUint(string(lo), 16, 64)
	end, err2 := strconv.ParseUint(string(hi), 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return [2]uint64{}, false
	}
	return [2]uint64{start, end}, true
}

// isHex reports whether c starts a mapping header: its address, in lowercase
// hex. Every other line of smaps starts with a capitalised key.
func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
}
