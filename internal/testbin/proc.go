// Package testbin is what the helper programs below it share: process state read
// from /proc. The helpers (sigprint, waitfile, zombies, orphans) are tiny main
// packages that cmd/hcinit's tests build once and put on PATH, so test scripts
// and the processes under test can run them like any other command.
package testbin

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Proc is one line of /proc/PID/stat, the fields the helpers need.
type Proc struct {
	Pid   int
	PPid  int
	State byte // R, S, D, Z, T, …
	Comm  string
}

// ReadProc reads /proc/PID/stat. The command name may hold spaces and
// parentheses, so the fields after it are split after the last ')'.
func ReadProc(pid int) (Proc, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Proc{}, err
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return Proc{}, fmt.Errorf("/proc/%d/stat: cannot parse %q", pid, s)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 || len(f[0]) != 1 {
		return Proc{}, fmt.Errorf("/proc/%d/stat: cannot parse %q", pid, s)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return Proc{}, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return Proc{Pid: pid, PPid: ppid, State: f[0][0], Comm: s[open+1 : end]}, nil
}

// Procs lists every process visible in /proc. Processes that exit while it
// reads are left out.
func Procs() []Proc {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := ReadProc(pid); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Zombies lists the zombies whose parent is ppid, or every zombie when ppid is 0.
func Zombies(ppid int) []Proc {
	var out []Proc
	for _, p := range Procs() {
		if p.State == 'Z' && (ppid == 0 || p.PPid == ppid) {
			out = append(out, p)
		}
	}
	return out
}
