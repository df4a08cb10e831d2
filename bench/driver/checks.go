//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	checksWindow = 60 * time.Second // HTTP checks every second for this long
	checksWarmup = 5 * time.Second  // start, first checks and hcinit's memory trim first
	burstConns   = 10000            // connections in the burst
	burstSettle  = 30 * time.Second // RSS is read this long after the burst
)

// benchChecks is section 2b: side by side for one window, hcinit instances run
// an HTTP check every second (RSS and CPU per check), others take a burst of
// 10,000 connections on their socket (RSS 30 s later), and minwrap around the
// same application is the baseline. After the window, the CPU per check of the
// peers' health clients.
func benchChecks() {
	window, warm, k, conns, settle := checksWindow, checksWarmup, 3, burstConns, burstSettle
	if quick {
		window, warm, k, conns, settle = 10*time.Second, 3*time.Second, 1, 1000, 5*time.Second
	}
	type inst struct {
		pid, port  int
		sock, log  string
		s0, s1     procStat
		cpu0, cpu1 time.Duration
		n0, n1     int
		idle, peak procStat // burst instances: before, right after
		after      procStat // burstSettle after the burst
		hwm        int      // VmHWM after the burst, KiB
		answered   int
		burstTook  time.Duration
		failed     string
	}
	launch := func(name string, i int, argv func(dir string, port int, sock string) []string) *inst {
		x := &inst{port: freePort(), sock: filepath.Join(sockdir, fmt.Sprintf("%s%d.sock", name, i)),
			log: filepath.Join(logdir, fmt.Sprintf("checks-%s-%d.log", name, i))}
		dir := filepath.Join(out, "run", fmt.Sprintf("cwd-checks-%s-%d", name, i))
		os.MkdirAll(dir, 0o755)
		f, _ := os.Create(x.log)
		defer f.Close()
		pid, err := start(Cmd{Argv: argv(dir, x.port, x.sock), Dir: dir}, nil, f)
		if err != nil {
			x.failed = err.Error()
		}
		x.pid = pid
		return x
	}
	app := func(port int) []string { return []string{bin("httpd"), "-addr", fmt.Sprintf("127.0.0.1:%d", port)} }
	var base, checking, bursting []*inst
	for i := 0; i < k; i++ {
		base = append(base, launch("base", i, func(_ string, port int, _ string) []string {
			return append([]string{bin("minwrap")}, app(port)...)
		}))
		checking = append(checking, launch("http", i, func(_ string, port int, sock string) []string {
			return append([]string{hcinit, "--socket", sock, "--interval", healthInterval.String(),
				"--check", fmt.Sprintf("http://127.0.0.1:%d/health", port), "--"}, app(port)...)
		}))
		bursting = append(bursting, launch("burst", i, func(_ string, _ int, sock string) []string {
			return []string{hcinit, "--socket", sock, "--", "/bin/sleep", "1000"}
		}))
	}
	all := slices.Concat(base, checking, bursting)
	time.Sleep(warm)
	for _, x := range all {
		x.s0 = readTree(x.pid)
		x.cpu0, _ = procCPU(x.pid)
		if x.failed == "" && !x.s0.alive {
			x.failed = "exited: " + firstLine(readFile(x.log))
		}
	}
	for _, x := range checking {
		x.n0, _ = httpCount(x.port)
	}
	began := time.Now()
	// The bursts, one instance after the other, inside the window.
	var lastBurst time.Time
	for _, x := range bursting {
		if x.failed != "" {
			continue
		}
		x.idle = readProc(x.pid)
		t := time.Now()
		x.answered = burst(x.sock, conns)
		x.burstTook = time.Since(t)
		x.peak = readProc(x.pid)
		x.hwm = vmHWM(x.pid)
		lastBurst = time.Now()
	}
	end := began.Add(window)
	if !lastBurst.IsZero() {
		time.Sleep(time.Until(lastBurst.Add(settle)))
		for _, x := range bursting {
			if x.failed == "" {
				x.after = readProc(x.pid)
			}
		}
	}
	time.Sleep(time.Until(end))
	elapsed := time.Since(began)
	for _, x := range slices.Concat(base, checking) {
		x.s1 = readTree(x.pid)
		x.cpu1, _ = procCPU(x.pid)
	}
	for _, x := range checking {
		x.n1, _ = httpCount(x.port)
	}

	// RSS and CPU per check.
	var rows [][]string
	baseRSS := math.NaN()
	row := func(name string, is []*inst, budgeted bool) {
		var rss, anon, file, cpuPer []float64
		checks, threads := 0, 0
		reason := ""
		for _, x := range is {
			if x.failed != "" || !x.s1.alive {
				reason = fmt.Sprintf("%s%s", x.failed, firstLine(readFile(x.log)))
				continue
			}
			rss = append(rss, float64(x.s1.rssKiB))
			anon = append(anon, float64(x.s1.anonKiB))
			file = append(file, float64(x.s1.fileKiB))
			threads = max(threads, x.s1.threads)
			if n := x.n1 - x.n0; budgeted && n > 0 {
				checks += n
				cpuPer = append(cpuPer, float64(x.cpu1-x.cpu0)/1e6/float64(n))
			}
		}
		if len(rss) == 0 {
			rows = append(rows, []string{name, "n/a (" + reason + ")", "", "", "", "", "", "", "", "", ""})
			return
		}
		m := median(rss)
		if math.IsNaN(baseRSS) {
			baseRSS = m
		}
		r := m / baseRSS
		budget, v, cb, cv, per := "", "", "", "", ""
		if budgeted {
			budget, v = fmt.Sprintf("≤ %.1f×", budgetRSS), verdict(r, math.NaN(), math.NaN(), budgetRSS)
			per = fmtMs(median(cpuPer))
			cb, cv = fmt.Sprintf("≤ %.2f ms", budgetCheckCPU), verdict(median(cpuPer), math.NaN(), math.NaN(), budgetCheckCPU)
			if len(cpuPer) == 0 {
				per, cv = "n/a (no check reached the application)", "n/a"
			}
		}
		rows = append(rows, []string{name, fmt.Sprintf("%.2f MiB", m/1024),
			fmt.Sprintf("%.2f – %.2f MiB", slices.Min(rss)/1024, slices.Max(rss)/1024),
			fmt.Sprintf("%.2f / %.2f MiB", median(anon)/1024, median(file)/1024),
			fmtRatio(r, math.NaN(), math.NaN()), budget, v, fmt.Sprint(checks), per, cb + " " + cv, fmt.Sprint(threads)})
	}
	row("minimal Go wrapper (**baseline**): `minwrap httpd`", base, false)
	row(fmt.Sprintf("`hcinit --interval %s --check http://…/health -- httpd`", healthInterval), checking, true)
	fmt.Fprintf(&md, "## 2b. While checks run (%s each, side by side, %s)\n\n", plural(k, "instance", "instances"), elapsed.Round(time.Second))
	md.WriteString("After a warm-up of " + warm.String() + ", for the whole window: VmRSS at its end, and hcinit's own CPU time (its process CPU clock, in ns, all threads) divided by the checks that reached the application. hcinit's check is an HTTP GET against the child, a static Go HTTP server.\n\n")
	table([]string{"wrapper", "VmRSS at the end (median)", "min – max", "RssAnon / RssFile", "vs baseline", "budget", "verdict", "checks run", "hcinit CPU per check (median)", "budget, verdict", "threads"}, rows)
	if !strings.HasPrefix(isolated, "private") {
		// Every hcinit that starts connects to each hcinit socket in /tmp and
		// /run/hcinit to reclaim dead ones: on a host where tests start
		// hcinits all the time, that wakes the ones measured here. Five
		// foreign starts a second doubled the CPU per check (0.78 -> 1.4-1.6
		// ms) and tripled the context switches.
		md.WriteString("**Not usable as hcinit's own cost:** /tmp and /run/hcinit were shared with the host (see the environment table), so every hcinit started elsewhere on the host woke the ones measured here; the CPU per check and the RSS include those wake-ups (5 foreign starts a second double the CPU per check). Run as root with `unshare` available.\n\n")
	}

	// The connection burst.
	var brows [][]string
	for i, x := range bursting {
		name := fmt.Sprintf("`hcinit -- sleep 1000` #%d", i+1)
		if x.failed != "" || !x.after.alive {
			brows = append(brows, []string{name, "n/a (" + x.failed + firstLine(readFile(x.log)) + ")", "", "", "", "", "", ""})
			continue
		}
		r := float64(x.after.rssKiB) / float64(x.idle.rssKiB)
		v := "ok"
		if math.Abs(r-1) > budgetBurst {
			v = "**OVER BUDGET**"
		}
		brows = append(brows, []string{name, fmt.Sprintf("%.2f MiB", float64(x.idle.rssKiB)/1024),
			fmt.Sprintf("%d / %d in %s", x.answered, conns, x.burstTook.Round(time.Millisecond)),
			fmt.Sprintf("%.2f MiB (peak %.2f MiB)", float64(x.peak.rssKiB)/1024, float64(x.hwm)/1024),
			fmt.Sprintf("%.2f MiB", float64(x.after.rssKiB)/1024), fmt.Sprintf("%.2f×", r),
			fmt.Sprintf("idle ± %.0f %%", budgetBurst*100), v})
	}
	fmt.Fprintf(&md, "Connection burst: %d connections to hcinit's socket, 256 at a time, each writes `ping` and reads the answer; RSS before, right after, and %s after the burst:\n\n", conns, settle)
	table([]string{"instance", "idle VmRSS before", "answered", "VmRSS right after (VmHWM)", "VmRSS " + settle.String() + " later", "vs idle", "budget", "verdict"}, brows)

	for _, x := range all {
		if x.pid > 0 {
			killTree(x.pid)
		}
	}
	inProcess := "n/a"
	if len(rows) > 1 && rows[1][8] != "" {
		inProcess = rows[1][8]
	}
	peerClients(inProcess)
}

// burst makes n connections to sock, 256 at a time; each writes "ping" and
// reads the answer. It returns how many got an answer.
func burst(sock string, n int) int {
	var ok atomic.Int64
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := 0; w < 256; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				c, err := net.DialTimeout("unix", sock, 5*time.Second)
				if err != nil {
					continue
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.WriteString(c, "ping")
				c.(*net.UnixConn).CloseWrite()
				b, _ := io.ReadAll(io.LimitReader(c, 4096))
				c.Close()
				if len(strings.TrimSpace(string(b))) > 0 { // "healthy", or "starting: …" before the first check
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(ok.Load())
}

func vmHWM(pid int) int {
	for _, l := range strings.Split(readFile(fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	return 0
}

// peerClients measures the CPU per check of the health clients users run
// with the other supervisors (a Docker HEALTHCHECK starts one per check):
// curl and wget against an HTTP endpoint, `supervisorctl status` against a
// running supervisord, `s6-svstat` on a running s6 service, and `hcinit check`
// against an hcinit with an HTTP check. CPU is wait4's rusage: the client and
// what it reaped. inProcess is hcinit's own CPU per HTTP check from above.
func peerClients(inProcess string) {
	dir := filepath.Join(out, "run", "peer-clients")
	os.MkdirAll(filepath.Join(dir, "supervisord"), 0o755)
	port := freePort()
	url := fmt.Sprintf("http://127.0.0.1:%d/health", port)
	sock := filepath.Join(sockdir, "peer-clients.sock")
	var pids []int
	defer func() {
		for _, p := range pids {
			killTree(p)
		}
	}()
	launch := func(argv []string) bool {
		if _, err := exec.LookPath(argv[0]); err != nil {
			return false
		}
		pid, err := start(Cmd{Argv: argv, Dir: dir}, nil, nil)
		if err != nil {
			return false
		}
		pids = append(pids, pid)
		return true
	}
	launch(append([]string{hcinit, "--socket", sock, "--interval", healthInterval.String(), "--check", url, "--"},
		bin("httpd"), "-addr", fmt.Sprintf("127.0.0.1:%d", port)))
	svConf := supervisordArgv(filepath.Join(dir, "supervisord"), []string{"/bin/sleep", "1000"})
	haveSV := launch(svConf)
	s6 := s6Argv(filepath.Join(dir, "s6"), "#!/bin/sh\nexec /bin/sleep 1000\n")
	haveS6 := launch(s6)
	cmds := []Cmd{
		{Name: "`hcinit check` (client of an hcinit that runs the HTTP check)", Argv: []string{hcinit, "check", "--socket", sock, "--timeout", clientTimeoutArg}},
		{Name: "`curl -fsS -o /dev/null URL`", Argv: []string{"curl", "-fsS", "-o", "/dev/null", url}},
		{Name: "`wget -q -O /dev/null URL`", Argv: []string{"wget", "-q", "-O", "/dev/null", url}},
	}
	if haveSV {
		cmds = append(cmds, Cmd{Name: "`supervisorctl status app` (supervisord's client)", Argv: []string{"supervisorctl", "-c", svConf[3], "status", "app"}})
	}
	if haveS6 {
		cmds = append(cmds, Cmd{Name: "`s6-svstat SERVICE` (s6's client)", Argv: []string{"s6-svstat", filepath.Join(dir, "s6", "scan", "app")}})
	}
	// Until every client answers (or 10 s).
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		okAll := true
		for _, c := range cmds {
			if code, _ := probe(10*time.Second, c.Argv...); code != 0 {
				okAll = false
			}
		}
		if okAll {
			break
		}
	}
	minR, maxR, maxT := 20, 60, 15*time.Second
	if quick {
		minR, maxR, maxT = 3, 3, 3*time.Second
	}
	s := interleave(cmds, 2, minR, maxR, maxT)
	rows := [][]string{{"hcinit's own HTTP check (in process, from 2b)", "", inProcess, ""}}
	for i, c := range cmds {
		name := c.Name
		if f := failures(s[i]); f > 0 {
			name += fmt.Sprintf(" (%s of %d exited non-zero)", plural(f, "run", "runs"), len(s[i]))
		}
		rows = append(rows, []string{name, fmtMs(median(walls(s[i]))), fmtMs(median(cpus(s[i]))), fmt.Sprintf("%.0f", median(faults(s[i])))})
	}
	fmt.Fprintf(&md, "CPU per check of the health clients used with each supervisor (a Docker HEALTHCHECK or probe starts one process per check; %d interleaved rounds; CPU from wait4, the client and what it reaped):\n\n", len(s[0]))
	table([]string{"check", "median wall", "median CPU per check", "page faults"}, rows)
}
