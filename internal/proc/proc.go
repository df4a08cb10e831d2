// Package proc is the one reader of /proc/PID/stat in the module: the
// supervisor's process check and descendant walk, the test helpers and the
// benchmark all go through it. A process that exits while it is read is an
// error for Stat and left out of All and Descendants.
package proc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Process is what /proc/PID/stat says about one process, the fields the module
// needs.
type Process struct {
	PID   int
	PPID  int
	State byte   // R, S, D, Z, T, t, X, …
	Comm  string // the command name, up to 15 bytes
	Ticks int    // user+system CPU time in clock ticks (utime+stime)
}

// Under reports whether pid is root or one of root's descendants, following
// parent pids in /proc (the chain ends at PID 1 or 0). The error is
// Stat's when a process on the way is gone.
func Under(pid, root int) (bool, error) {
	a, err := Ancestor(pid, func(p int) bool { return p == root })
	return a != 0, err
}

// Ancestor returns the first of pid and its ancestors for which match is
// true, following parent pids in /proc up to PID 1 (never past it), or 0
// when none is. The error is Stat's when a process on the way is gone.
func Ancestor(pid int, match func(int) bool) (int, error) {
	for hops := 0; pid > 0 && hops < 1<<16; hops++ {
		if match(pid) {
			return pid, nil
		}
		if pid == 1 {
			return 0, nil
		}
		p, err := Stat(pid)
		if err != nil {
			return 0, err
		}
		pid = p.PPID
	}
	return 0, nil
}

// ErrNoProcess says the process does not exist (any more).
var ErrNoProcess = errors.New("no such process")

// Stat reads /proc/PID/stat.
func Stat(pid int) (Process, error) {
	b, err := readSmall("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) {
		return Process{}, ErrNoProcess
	}
	if err != nil {
		return Process{}, fmt.Errorf("read process state: %w", err)
	}
	p, err := Parse(string(b))
	if err != nil {
		return Process{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return p, nil
}

// Parse reads one /proc/PID/stat line. The command name may hold spaces and
// parentheses, so the fields after it are split after the last ')'.
func Parse(s string) (Process, error) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return Process{}, fmt.Errorf("malformed: %q", s)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return Process{}, fmt.Errorf("malformed pid: %q", s)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return Process{}, fmt.Errorf("malformed: %q", s)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return Process{}, fmt.Errorf("malformed ppid: %q", s)
	}
	p := Process{PID: pid, PPID: ppid, State: f[0][0], Comm: s[open+1 : end]}
	if len(f) > 12 { // state is field 3 of proc(5); utime and stime are 14 and 15
		ut, _ := strconv.Atoi(f[11])
		st, _ := strconv.Atoi(f[12])
		p.Ticks = ut + st
	}
	return p, nil
}

// All lists every process visible in /proc.
func All() []Process {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Process
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := Stat(pid); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Descendants lists every process whose chain of parents reaches root,
// parents before their children.
func Descendants(root int) []int {
	children := map[int][]int{}
	for _, p := range All() {
		if p.PPID > 0 {
			children[p.PPID] = append(children[p.PPID], p.PID)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// readSmall reads a small file (a /proc one) with plain open, read and close.
// os.ReadFile would first try to register it with the network poller, switch
// it to non-blocking and back, and stat it: 10 system calls instead of 3 or 4,
// on every process check and for every process a stop walks in /proc.
func readSmall(path string) ([]byte, error) {
	fd, err := ignoringEINTR(func() (int, error) { return syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0) })
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	b := make([]byte, 0, 512)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := ignoringEINTR(func() (int, error) { return syscall.Read(fd, b[len(b):cap(b)]) })
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}

func ignoringEINTR(f func() (int, error)) (int, error) {
	for {
		n, err := f()
		if err != syscall.EINTR {
			return n, err
		}
	}
}
