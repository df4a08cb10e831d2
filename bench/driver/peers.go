//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/wisdom-oss/go-healthcheck/internal/proc"
)

// variant is one more hcinit binary measured next to -hcinit (-also).
type variant struct {
	name, src, path string
}

func parseAlso(s string) ([]variant, error) {
	var vs []variant
	for _, item := range strings.Split(s, ",") {
		if item == "" {
			continue
		}
		name, p, ok := strings.Cut(item, "=")
		if !ok || name == "" || p == "" || strings.ContainsAny(name, "/ ") {
			return nil, fmt.Errorf("-also %q: want NAME=PATH", item)
		}
		src, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		path, err := underTest(src, "hcinit-"+name)
		if err != nil {
			return nil, err
		}
		vs = append(vs, variant{name, src, path})
	}
	return vs, nil
}

// copyBinary copies an executable under test into out/under-test/ and returns
// the copy. A binary the linker has just written starts 6–9 % slower from the
// page cache than the same bytes written by a plain copy, and baselines and
// peers are never freshly linked: every binary is timed as a copy.
func copyBinary(src, name string) (string, error) {
	dir := filepath.Join(out, "under-test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	in, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("%v (run bench/run.sh, which builds it)", err)
	}
	defer in.Close()
	dst := filepath.Join(dir, name)
	tmp := dst + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp, dst)
}

// s6Version: s6-svscan has no --version; the Debian package says it.
func s6Version() string {
	if lookPath("s6-svscan") == "s6-svscan" {
		return "not installed"
	}
	for _, l := range strings.Split(output("dpkg-query", "-W", "s6"), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			return "s6 " + f[1]
		}
	}
	return "installed"
}

// supervisordArgv writes a supervisord configuration into dir that runs argv
// as program "app" once (no restart), with a control socket for supervisorctl
// as a real set-up has, and returns the command line of supervisord in the
// foreground.
func supervisordArgv(dir string, argv []string) []string {
	user := ""
	if os.Geteuid() == 0 {
		user = "user=root\n" // says "yes, as root" instead of a warning
	}
	conf := fmt.Sprintf(`[supervisord]
nodaemon=true
%slogfile=%[2]s/supervisord.log
logfile_maxbytes=0
loglevel=warn
pidfile=%[2]s/supervisord.pid
childlogdir=%[2]s

[unix_http_server]
file=%[2]s/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%[2]s/supervisor.sock

[program:app]
command=%[3]s
autorestart=false
startsecs=0
startretries=0
stdout_logfile=NONE
stderr_logfile=NONE
`, user, dir, strings.Join(argv, " "))
	path := filepath.Join(dir, "supervisord.conf")
	os.WriteFile(path, []byte(conf), 0o644)
	return []string{"supervisord", "-n", "-c", path}
}

// s6Argv makes a scan directory in dir with one service "app" whose run file
// is run (a script, or "@PATH" for a symlink to an executable) and returns the
// command line of s6-svscan on it.
func s6Argv(dir, run string) []string {
	svc := filepath.Join(dir, "scan", "app")
	os.MkdirAll(svc, 0o755)
	runPath := filepath.Join(svc, "run")
	os.Remove(runPath)
	if target, ok := strings.CutPrefix(run, "@"); ok {
		os.Symlink(target, runPath)
	} else {
		os.WriteFile(runPath, []byte(run), 0o755)
	}
	return []string{"s6-svscan", filepath.Join(dir, "scan")}
}

// readTree is readProc of pid plus its descendants except the workload
// (sleep, httpd): the whole supervision tree of supervisord or s6, which for
// the single-process inits is the init alone.
func readTree(pid int) procStat {
	p := readProc(pid)
	for _, d := range proc.Descendants(pid) {
		comm := strings.TrimSpace(readFile(fmt.Sprintf("/proc/%d/comm", d)))
		if comm == "sleep" || comm == "httpd" || comm == "stamp" || comm == "run" {
			continue
		}
		q := readProc(d)
		p.rssKiB += q.rssKiB
		p.anonKiB += q.anonKiB
		p.fileKiB += q.fileKiB
		p.ticks += q.ticks
		p.wakeups += q.wakeups
		p.threads += q.threads
	}
	return p
}

// procCPU is the CPU time pid has used so far, all threads, in nanoseconds
// (its process CPU clock, which any process may read).
func procCPU(pid int) (time.Duration, bool) {
	clock := int32(^pid<<3 | 2) // MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)
	var ts syscall.Timespec
	_, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, uintptr(int64(clock)), uintptr(unsafe.Pointer(&ts)), 0)
	if e != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// fastKill kills pid and everything below it at once and reaps pid; the rest
// comes back to the driver (subreaper) and is reaped by sweep.
func fastKill(pid int) {
	for _, p := range proc.Descendants(pid) {
		syscall.Kill(p, syscall.SIGKILL)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	wait(pid)
	for {
		var ws syscall.WaitStatus
		if p, _ := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); p <= 0 {
			return
		}
	}
}

// launchSupervisors is 1b for the supervisors that stay up when their program
// has exited (supervisord, s6-svscan): only the launch is measured, from the
// fork of the supervisor until the program's main runs, in rounds interleaved
// with the baseline. stamp writes to STAMP_FILE, which both pass on.
func launchSupervisors() {
	type sup struct {
		name string
		argv []string
		wait bool // stays up: poll for the stamp, then kill
	}
	dir := filepath.Join(out, "run", "peers-launch")
	os.MkdirAll(dir, 0o755)
	stampFile := filepath.Join(logdir, "stamp-peers")
	os.MkdirAll(filepath.Join(dir, "supervisord"), 0o755)
	sups := []sup{
		{"`minwrap stamp` (**baseline**)", []string{bin("minwrap"), bin("stamp")}, false},
		{"`supervisord -n` (program `stamp`)", supervisordArgv(filepath.Join(dir, "supervisord"), []string{bin("stamp")}), true},
		{"`s6-svscan` (service `stamp`)", s6Argv(filepath.Join(dir, "s6"), "@"+bin("stamp")), true},
	}
	var avail []sup
	for _, s := range sups {
		if _, err := exec.LookPath(s.argv[0]); err == nil {
			avail = append(avail, s)
		}
	}
	if len(avail) < 2 {
		note("supervisord and s6-svscan are not installed: no launch rows for them (make deps installs them)")
		return
	}
	minR, maxR, maxT := 10, 40, 15*time.Second
	if quick {
		minR, maxR, maxT = 3, 3, 3*time.Second
	}
	launch := make([][]float64, len(avail))
	bad := make([]string, len(avail))
	rounds(len(avail), 2, minR, maxR, maxT, func(i int, record bool) {
		os.Remove(stampFile)
		t0 := monotonic()
		pid, err := start(Cmd{Argv: avail[i].argv, Env: []string{"STAMP_FILE=" + stampFile}, Dir: dir}, nil, nil)
		if err != nil {
			bad[i] = err.Error()
			return
		}
		var b []byte
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if b, _ = os.ReadFile(stampFile); len(b) > 0 && b[len(b)-1] == '\n' {
				break
			}
			if !avail[i].wait {
				wait(pid)
				pid = 0
				b, _ = os.ReadFile(stampFile)
				break
			}
		}
		if pid != 0 {
			fastKill(pid)
		}
		stamp, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || stamp < t0 {
			bad[i] = "no stamp within 10 s"
			return
		}
		if record {
			launch[i] = append(launch[i], float64(stamp-t0)/1e6)
		}
	})
	var rows [][]string
	for i, s := range avail {
		name := s.name
		if bad[i] != "" {
			name += " (failed: " + bad[i] + ")"
		}
		r, lo, hi := ratioCI(launch[i], launch[0])
		rows = append(rows, []string{name, fmtMs(median(launch[i])), fmtMs(quantile(launch[i], 0.25)) + " – " + fmtMs(quantile(launch[i], 0.75)), fmtRatio(r, lo, hi)})
	}
	fmt.Fprintf(&md, "### 1c. Supervisors that stay up: launch only (%d interleaved rounds)\n\n", len(launch[0]))
	md.WriteString("supervisord and s6-svscan do not exit with their program, so only the launch is measured: from the fork of the supervisor until the program `stamp` runs its main (it writes the time to a file). The supervisor is killed after each round.\n\n")
	table([]string{"command", "launch (median)", "p25 – p75", "vs baseline [95% CI]"}, rows)
}
