//go:build linux

// Command orphans makes orphans for its init to reap — its parent, PID 1 of a
// PID namespace or a child subreaper — and measures how fast they are reaped.
//
// Two phases, each with -n orphans:
//
//   - burst: a helper process creates n children that exit at once and stay
//     zombies, then the helper exits: all n zombies are re-parented to the init
//     in one go. burst_reap_ms is the time from the helper's exit until the
//     init has no child left but orphans itself — pure reaping.
//   - stream: n double forks one after another; each short-lived child forks a
//     grandchild and both exit, so the grandchild is re-parented to the init
//     alive or already dead, while the init keeps reaping. stream_ms is the time
//     from the first fork until the init has no child left.
//
// Forks are raw clone(2) calls without exec (an orphan costs a fork, not an
// exec of /bin/true). burst_init_cpu_ms and stream_init_cpu_ms are the init's
// CPU time during each phase (/proc/INIT/stat, 10 ms steps). At the end it
// counts zombies everywhere in /proc (all of the PID namespace when run as its
// PID 2) and prints one JSON line on stdout. The exit status is 0 when the
// init has no child left and no zombie exists.
package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wisdom-oss/go-healthcheck/internal/proc"
)

func main() {
	n := flag.Int("n", 10000, "number of orphans per phase")
	phases := flag.String("phases", "burst,stream", "comma-separated phases to run")
	timeout := flag.Duration("timeout", 60*time.Second, "give up waiting for the init after this long")
	flag.Parse()

	self, initPid := os.Getpid(), os.Getppid()
	res := map[string]any{"n": *n}
	left := 0
	for _, phase := range strings.Split(*phases, ",") {
		switch phase {
		case "burst":
			start, ticks := time.Now(), initTicks(initPid)
			pid, errno := zombieHelper(*n)
			if errno != 0 {
				fail("clone: " + errno.Error())
			}
			wait(int(pid))
			exited := time.Now()
			left = drain(initPid, self, exited.Add(*timeout))
			res["burst_make_ms"] = ms(exited.Sub(start))
			res["burst_reap_ms"] = ms(time.Since(exited))
			res["burst_init_cpu_ms"] = 10 * (initTicks(initPid) - ticks)
		case "stream":
			start, ticks := time.Now(), initTicks(initPid)
			failed := 0
			for i := 0; i < *n; i++ {
				pid, errno := doubleFork()
				if errno != 0 {
					failed++
					time.Sleep(time.Millisecond) // EAGAIN: let the init catch up
					continue
				}
				wait(int(pid))
			}
			forked := time.Now()
			left = drain(initPid, self, forked.Add(*timeout))
			res["stream_ms"] = ms(time.Since(start))
			res["stream_drain_ms"] = ms(time.Since(forked))
			res["stream_failed"] = failed
			res["stream_init_cpu_ms"] = 10 * (initTicks(initPid) - ticks)
		default:
			fail("unknown phase " + phase)
		}
		if left != 0 {
			break
		}
	}
	zombies := countZombies(self)
	comm, _ := os.ReadFile("/proc/" + strconv.Itoa(initPid) + "/comm")
	res["left"], res["zombies"], res["init"] = left, zombies, strings.TrimSpace(string(comm))
	out, _ := json.Marshal(res)
	os.Stdout.Write(append(out, '\n'))
	if left != 0 || zombies != 0 {
		os.Exit(1)
	}
}

func fail(msg string) {
	os.Stderr.WriteString("orphans: " + msg + "\n")
	os.Exit(2)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func wait(pid int) {
	var ws syscall.WaitStatus
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, nil); err != syscall.EINTR {
			return
		}
	}
}

// The forks below run no Go runtime in the new processes: between clone and
// exit_group they execute only these nosplit lines and raw system calls (a
// forked Go process has one thread and no scheduler), which is what makes fork
// without exec safe here. They are plain forks (own copy of memory): a
// CLONE_VM|CLONE_VFORK child would share, and overwrite, the parent's stack.

// zombieHelper forks a helper that makes n children, which exit at once and
// stay its zombies, and then exits itself.
//
//go:nosplit
func zombieHelper(n int) (uintptr, syscall.Errno) {
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 || pid != 0 {
		return pid, errno
	}
	for i := 0; i < n; i++ {
		r, _, _ := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
		if r == 0 {
			for {
				syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
			}
		}
	}
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
}

// doubleFork makes one orphan: the child forks the grandchild and both exit.
//
//go:nosplit
func doubleFork() (uintptr, syscall.Errno) {
	pid, _, errno := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if errno != 0 || pid != 0 {
		return pid, errno
	}
	// The child, and after this clone the grandchild as well.
	syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	for {
		syscall.RawSyscall(syscall.SYS_EXIT_GROUP, 0, 0, 0)
	}
}

// drain waits until the init has no child but self and returns how many were
// left (0 unless the deadline passed). It reads /proc/INIT/task/*/children, a
// few small files, so polling costs the init next to nothing.
func drain(initPid, self int, deadline time.Time) int {
	for {
		left := initChildren(initPid, self)
		if left == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func initChildren(initPid, self int) int {
	files, _ := filepath.Glob("/proc/" + strconv.Itoa(initPid) + "/task/*/children")
	count := 0
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, p := range strings.Fields(string(b)) {
			if p != strconv.Itoa(self) {
				count++
			}
		}
	}
	return count
}

// initTicks is the init's user+system CPU time in clock ticks (10 ms).
func initTicks(initPid int) int {
	p, _ := proc.Stat(initPid)
	return p.Ticks
}

// countZombies counts the processes in state Z among all of /proc except self.
func countZombies(self int) int {
	z := 0
	for _, p := range proc.All() {
		if p.PID != self && p.State == 'Z' {
			z++
		}
	}
	return z
}
