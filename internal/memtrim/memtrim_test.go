package memtrim

import (
	"os"
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
