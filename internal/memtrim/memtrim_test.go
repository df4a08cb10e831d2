package memtrim

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func rssFile(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Skip("no RssFile")
	return 0
}

// The test binary's own file mappings are resident after start-up; Idle must
// page most of them out (the kernel may keep pages other processes map too).
func TestIdleShrinksFileRSS(t *testing.T) {
	before := rssFile(t)
	Idle()
	after := rssFile(t)
	t.Logf("RssFile %d kB → %d kB", before, after)
	if after >= before {
		t.Fatalf("RssFile did not shrink: %d kB → %d kB", before, after)
	}
}

func forcedGCs() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumForcedGC
}

var sink [][]byte

// A collection is forced only when enough was allocated since the last one:
// at start-up there is next to no garbage, and every collection leaves
// runtime metadata resident.
func TestIdleCollectsOnlyAfterAllocating(t *testing.T) {
	Idle()
	before := forcedGCs()
	Idle()
	if got := forcedGCs(); got != before {
		t.Fatalf("Idle forced a collection with nothing allocated since the last: %d → %d", before, got)
	}
	for i := 0; i < 64; i++ {
		sink = append(sink, make([]byte, 32<<10)) // 2 MiB
	}
	sink = nil
	Idle()
	if got := forcedGCs(); got != before+1 {
		t.Fatalf("Idle did not collect after 2 MiB of garbage: forced collections %d → %d", before, got)
	}
}
