package memtrim

import (
	"os"
	"runtime"
	"runtime/debug"
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

// Under frequent checks nothing else collects: every lookEvery results
// AfterCheck looks at the anonymous memory and collects (and drops the
// collector's code again) once it grew by collectMin since the last look.
func TestAfterCheckCollectsWhenTheHeapGrew(t *testing.T) {
	mu.Lock()
	clock := time.Unix(1000, 0)
	var resident int64 = 10 << 20
	collects, drops := 0, 0
	now = func() time.Time { return clock }
	drop = func() { drops++ }
	anon = func() int64 { return resident }
	var runtimeGCs int64
	collect = func() { collects++; runtimeGCs++; resident -= 2 << 20 }
	gcs = func() int64 { return runtimeGCs }
	lastCheck, results, base, lastGCs = time.Time{}, 0, -1, 0
	mu.Unlock()
	defer func() {
		mu.Lock()
		now, drop, anon, collect, gcs = time.Now, dropExecutable, anonymous, debug.FreeOSMemory, numGC
		lastCheck, results, base, lastGCs = time.Time{}, 0, -1, 0
		mu.Unlock()
	}()
	checks := func(n int, grow int64) {
		t.Helper()
		for i := 0; i < n; i++ {
			clock = clock.Add(time.Second)
			resident += grow
			AfterCheck()
		}
	}
	checks(lookEvery, 0) // the first look only takes the measure
	if collects != 0 || drops != 0 {
		t.Fatalf("first look: %d collections, %d drops; want none", collects, drops)
	}
	checks(lookEvery, 1<<20/lookEvery/2) // half of collectMin
	if collects != 0 || drops != 0 {
		t.Fatalf("after growing by collectMin/2: %d collections, %d drops; want none", collects, drops)
	}
	checks(lookEvery, 1<<20/lookEvery) // collectMin and a half in all
	if collects != 1 || drops != 1 {
		t.Fatalf("after growing by 1.5×collectMin: %d collections, %d drops; want 1 and 1", collects, drops)
	}
	checks(lookEvery, 0) // measured again after the collection: no growth since
	if collects != 1 || drops != 1 {
		t.Fatalf("after no growth: %d collections, %d drops; want 1 and 1", collects, drops)
	}
	runtimeGCs++ // the runtime's own, every two minutes at least
	checks(lookEvery, 0)
	if collects != 1 || drops != 2 {
		t.Fatalf("after the runtime collected: %d collections, %d drops; want 1 and 2", collects, drops)
	}
	checks(lookEvery, 0)
	if collects != 1 || drops != 2 {
		t.Fatalf("after nothing happened: %d collections, %d drops; want 1 and 2", collects, drops)
	}
}

// anonymous parses /proc/self/statm: resident minus shared pages.
func TestAnonymousReadsStatm(t *testing.T) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(b))
	resident, _ := strconv.ParseInt(f[1], 10, 64)
	shared, _ := strconv.ParseInt(f[2], 10, 64)
	want := (resident - shared) * int64(os.Getpagesize())
	got := anonymous()
	if d := got - want; got <= 0 || d > 256<<10 || d < -256<<10 {
		t.Fatalf("anonymous() = %d, statm says %d", got, want)
	}
}
