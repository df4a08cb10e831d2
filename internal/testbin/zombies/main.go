// Command zombies counts zombie processes by reading /proc.
//
//	zombies [-ppid PID] [-want N] [-wait D]
//
// It prints "zombies N" and exits 0 when N is as wanted (default 0), else 1.
// -ppid counts only the children of PID (as a subreaper, the host's other
// zombies are none of the test's business); -wait looks again until the count
// is as wanted or D has passed.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/wisdom-oss/go-healthcheck/internal/testbin"
)

func main() {
	ppid := flag.Int("ppid", 0, "count only children of this pid (0: all)")
	want := flag.Int("want", 0, "the count wanted")
	wait := flag.Duration("wait", 0, "look again until the count is as wanted or this much time has passed")
	flag.Parse()
	deadline := time.Now().Add(*wait)
	z := testbin.Zombies(*ppid)
	for len(z) != *want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond) // a reaped process sends no event: poll /proc
		z = testbin.Zombies(*ppid)
	}
	fmt.Printf("zombies %d\n", len(z))
	if len(z) != *want {
		for _, p := range z {
			fmt.Fprintf(os.Stderr, "zombie pid=%d ppid=%d comm=%s\n", p.PID, p.PPID, p.Comm)
		}
		os.Exit(1)
	}
}
