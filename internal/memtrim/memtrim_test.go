package memtrim

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
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

// A collection is forced only when the anonymous memory grew enough since
// Idle last looked: at start-up there is next to no garbage, and every
// collection leaves runtime metadata resident.
func TestIdleCollectsOnlyAfterAllocating(t *testing.T) {
	mu.Lock()
	base = -1 // as at start-up
	mu.Unlock()
	Idle() // looks only
	before := forcedGCs()
	Idle()
	if got := forcedGCs(); got != before {
		t.Fatalf("Idle forced a collection with nothing allocated since the last: %d → %d", before, got)
	}
	for i := 0; i < 64; i++ {
		b := make([]byte, 32<<10) // 2 MiB in all, every page touched
		for j := 0; j < len(b); j += 1024 {
			b[j] = 1
		}
		sink = append(sink, b)
	}
	Idle()
	sink = nil
	if got := forcedGCs(); got != before+1 {
		t.Fatalf("Idle did not collect after the heap grew by 2 MiB: forced collections %d → %d", before, got)
	}
}

// Results further apart than quietGap hand the executable's pages back;
// frequent ones do not (their code would only be mapped in again).
func TestAfterCheckOnlyWhenChecksAreRare(t *testing.T) {
	mu.Lock()
	clock := time.Unix(1000, 0)
	drops := 0
	now = func() time.Time { return clock }
	drop = func() { drops++ }
	lastCheck = time.Time{}
	mu.Unlock()
	defer func() {
		mu.Lock()
		now, drop, lastCheck = time.Now, dropExecutable, time.Time{}
		mu.Unlock()
	}()
	step := func(d time.Duration, want int) {
		t.Helper()
		clock = clock.Add(d)
		AfterCheck()
		if drops != want {
			t.Fatalf("after a result %v after the previous one: %d drops, want %d", d, drops, want)
		}
	}
	step(0, 0)              // the first result: Config.Settled trims then
	step(time.Second, 0)    // checks every second: nothing
	step(time.Second, 0)    //
	step(30*time.Second, 1) // the default 30 s process check
	step(30*time.Second, 2) //
	step(200*time.Millisecond, 2)
}
