// Command orphans makes N orphans and checks that its parent, the init under
// test, adopts and reaps them all.
//
//	orphans [-n N] [-wait D]
//
// An intermediate process starts N children and exits without waiting, so they
// are re-parented to the nearest subreaper (or the namespace's PID 1). Each
// orphan then reports its parent pid and exits. orphans checks that every one
// was adopted by its own parent and that, within -wait, every one was reaped:
// gone from /proc, and no zombie left under the init. It prints
// "orphans N adopted A reaped R zombies Z" and exits 0 only when A = R = N, Z = 0.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/wisdom-oss/go-healthcheck/internal/proc"
	"github.com/wisdom-oss/go-healthcheck/internal/testbin"
)

func main() {
	n := flag.Int("n", 100, "orphans to make")
	wait := flag.Duration("wait", 5*time.Second, "time the init gets to reap them")
	role := flag.String("role", "", "internal: spawn or orphan")
	flag.Parse()
	switch *role {
	case "spawn":
		spawn(*n)
	case "orphan":
		orphan()
	default:
		os.Exit(check(*n, *wait))
	}
}

// The pipes: fd 3 is "release" (EOF lets the orphans go), fd 4 "report".

func spawn(n int) {
	release, report := os.NewFile(3, "release"), os.NewFile(4, "report")
	for i := 0; i < n; i++ {
		c := exec.Command("/proc/self/exe", "-role", "orphan")
		c.ExtraFiles = []*os.File{release, report}
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "orphans:", err)
			os.Exit(1)
		}
	}
	os.Exit(0) // without waiting: the children are orphans now
}

func orphan() {
	release, report := os.NewFile(3, "release"), os.NewFile(4, "report")
	var b [1]byte
	_, _ = release.Read(b[:]) // returns at EOF, once check has closed its end
	fmt.Fprintf(report, "%d %d\n", os.Getpid(), os.Getppid())
	os.Exit(0)
}

func check(n int, wait time.Duration) int {
	init := os.Getppid()
	relR, relW, err1 := os.Pipe()
	repR, repW, err2 := os.Pipe()
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "orphans:", err1, err2)
		return 1
	}
	c := exec.Command("/proc/self/exe", "-role", "spawn", "-n", strconv.Itoa(n))
	c.ExtraFiles = []*os.File{relR, repW}
	c.Stderr = os.Stderr
	if err := c.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "orphans: spawn:", err)
		return 1
	}
	relR.Close()
	repW.Close()
	relW.Close() // the intermediate is gone: let the orphans report

	adopted := 0
	pids := map[int]bool{}
	s := bufio.NewScanner(repR)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) != 2 {
			continue
		}
		pid, _ := strconv.Atoi(f[0])
		ppid, _ := strconv.Atoi(f[1])
		pids[pid] = true
		if ppid == init {
			adopted++
		} else if adopted == 0 && len(pids) == 1 {
			fmt.Fprintf(os.Stderr, "orphans: pid %d adopted by %d, not by the init %d\n", pid, ppid, init)
		}
	}
	// Every orphan has closed its report pipe: it is exiting or a zombie. The
	// init must reap them; a reaped process sends no event, so poll /proc.
	deadline := time.Now().Add(wait)
	left := pending(pids, init)
	for left > 0 && adopted == len(pids) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		left = pending(pids, init)
	}
	zombies := len(testbin.Zombies(init))
	fmt.Printf("orphans %d adopted %d reaped %d zombies %d\n", n, adopted, len(pids)-left, zombies)
	if len(pids) != n || adopted != n || left != 0 || zombies != 0 {
		return 1
	}
	return 0
}

// pending counts the orphans still in /proc, alive or zombie, as children of
// init (a pid reused by an unrelated process does not count).
func pending(pids map[int]bool, init int) int {
	left := 0
	for pid := range pids {
		if p, err := proc.Stat(pid); err == nil && p.PPID == init {
			left++
		}
	}
	return left
}
