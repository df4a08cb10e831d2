//go:build linux

// Command driver runs hcinit's benchmarks side by side with their baselines
// and peers in one run and prints a Markdown report (see bench/README.md).
//
// Timings are interleaved: every round runs each command of a section once, in
// an order rotated from round to round, so drift on a busy machine hits all of
// them alike. Reported are medians; ratios are ratios of medians with a 95%
// bootstrap interval over the paired rounds. A missed budget is marked
// "OVER BUDGET" in the report; the exit status is 0 unless the driver itself
// could not run.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/wisdom-oss/go-healthcheck/internal/proc"
)

var (
	hcinitFlag = flag.String("hcinit", "bin/hcinit", "the hcinit binary under test")
	outFlag    = flag.String("out", "bench/out", "directory with the baseline binaries; results.md is written here")
	quickFlag  = flag.Bool("quick", false, "few repetitions: a smoke test of the benchmark, not a measurement")
	onlyFlag   = flag.String("only", "", "comma-separated sections to run (start,rss,checks,orphans,health,init); default all")
	alsoFlag   = flag.String("also", "", "more hcinit binaries for sections 1, 2 and 3, side by side: NAME=PATH,… (to measure a change)")
	sharedFlag = flag.Bool("shared-tmp", false, "run with the host's /tmp and /run/hcinit instead of private ones (see private.go)")
)

// Budgets from DESIGN.md.
const (
	budgetStart      = 1.50 // hcinit -- /bin/true vs minwrap
	budgetRSS        = 1.50 // idle VmRSS vs minwrap, and while checks run
	budgetCheckCPU   = 0.50 // ms of hcinit's CPU per HTTP check
	budgetBurst      = 0.10 // RSS 30 s after a connection burst: idle ± 10 %
	budgetIdleTicks  = 1    // CPU ticks over the idle window ("~0")
	budgetOrphans    = 1.00 // vs tini
	budgetCheck      = 1.10 // hcinit check vs unixping
	budgetCheckCurl  = 0.50 // hcinit check vs curl -fsS
	stormClients     = 1000
	healthInterval   = time.Second
	idleCPUWindow    = 5 * time.Second
	orphansPerRun    = 10000
	hcSocket         = "/tmp/bench-hc.sock"
	clientTimeoutArg = "10s"
)

var (
	hcinit    string // absolute path of hcinit: a copy of -hcinit (see copyBinary)
	hcinitSrc string // -hcinit as given
	also      []variant
	out       string // absolute bench/out
	workdir   string // scratch working directory of the benchmarked processes; nothing else is written there
	logdir    string // logs and outputs, outside every working directory (hcinit watches its own)
	sockdir   string // hcinit's sockets, likewise
	baseEnv   []string
	devnull   *os.File
	quick     bool
	md        strings.Builder
	notes     []string
)

func main() {
	flag.Parse()
	quick = *quickFlag
	var err error
	if hcinitSrc, err = filepath.Abs(*hcinitFlag); err != nil {
		fatal(err)
	}
	if out, err = filepath.Abs(*outFlag); err != nil {
		fatal(err)
	}
	// The binaries under test are timed as copies: a freshly linked binary
	// starts 6–9 % slower from the page cache than the same bytes copied.
	if hcinit, err = underTest(hcinitSrc, "hcinit"); err != nil {
		fatal(err)
	}
	if also, err = parseAlso(*alsoFlag); err != nil {
		fatal(err)
	}
	isolate()
	for _, p := range []string{hcinit, bin("minwrap"), bin("empty"), bin("stamp"), bin("unixping"), bin("httpd"), bin("orphans")} {
		if _, err := os.Stat(p); err != nil {
			fatal(fmt.Errorf("%v (run bench/run.sh, which builds it)", err))
		}
	}
	os.RemoveAll(filepath.Join(out, "run"))
	workdir, logdir, sockdir = filepath.Join(out, "run", "cwd"), filepath.Join(out, "run", "logs"), filepath.Join(out, "run", "sock")
	for _, d := range []string{workdir, logdir, sockdir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			fatal(err)
		}
	}
	if devnull, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
		fatal(err)
	}
	baseEnv = cleanEnv()
	// Whatever a benchmarked process leaves behind comes back to us and is
	// killed and reaped at the end of each section.
	syscall.RawSyscall(syscall.SYS_PRCTL, 36 /* PR_SET_CHILD_SUBREAPER */, 1, 0)

	sections := []struct {
		name string
		run  func()
	}{
		{"start", benchStart},
		{"rss", benchRSS},
		{"checks", benchChecks},
		{"orphans", benchOrphans},
		{"health", benchHealth},
		{"init", benchInit},
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*onlyFlag, ",") {
		if s != "" {
			want[s] = true
		}
	}
	began := time.Now()
	environment()
	for _, s := range sections {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		t := time.Now()
		progress("== %s", s.name)
		s.run()
		sweep()
		progress("== %s done in %s (load %s)", s.name, time.Since(t).Round(100*time.Millisecond), loadavg())
		writeResults()
	}
	fmt.Fprintf(&md, "\n_Whole run: %s; load average at the end: %s._\n", time.Since(began).Round(time.Second), loadavg())
	if len(notes) > 0 {
		md.WriteString("\n## Notes\n\n")
		for _, n := range notes {
			md.WriteString("- " + n + "\n")
		}
	}
	writeResults()
	fmt.Print(md.String())
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench driver:", err)
	os.Exit(2)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[bench %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func note(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }

func writeResults() {
	if err := os.WriteFile(filepath.Join(out, "results.md"), []byte(md.String()), 0o644); err != nil {
		progress("writing results.md: %v", err)
	}
}

func bin(name string) string { return filepath.Join(out, name) }

// cleanEnv is our environment without the variables that would change how the
// wrappers behave.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "HCINIT_") || strings.HasPrefix(k, "TINI_") || strings.HasPrefix(k, "DUMB_INIT_") ||
			k == "GODEBUG" || k == "GOMAXPROCS" || k == "GOGC" || k == "GOMEMLIMIT" || k == "NOTIFY_SOCKET" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// ---------------------------------------------------------------- environment

func environment() {
	md.WriteString("# hcinit benchmarks\n\n")
	uname := firstLine(readFile("/proc/sys/kernel/osrelease"))
	cpu := ""
	for _, l := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if strings.HasPrefix(l, "model name") {
			_, cpu, _ = strings.Cut(l, ":")
			cpu = strings.TrimSpace(cpu)
			break
		}
	}
	rows := [][]string{
		{"date", time.Now().UTC().Format(time.RFC3339)},
		{"nproc", fmt.Sprintf("%d (%s)", runtime.NumCPU(), cpu)},
		{"kernel", uname},
		{"go", runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH},
		{"hcinit", fmt.Sprintf("%s, %s, `%s` (timed as a copy)", firstLine(output(hcinit, "version")), size(hcinit), relPath(hcinitSrc))},
		{"git", firstLine(output("git", "describe", "--always", "--dirty"))},
		{"baselines", fmt.Sprintf("minwrap %s, unixping %s, empty %s (static, -trimpath -s -w)", size(bin("minwrap")), size(bin("unixping")), size(bin("empty")))},
		{"tini", firstLine(output("tini", "--version"))},
		{"dumb-init", firstLine(output("dumb-init", "--version"))},
		{"catatonit", firstLine(output("catatonit", "--version"))},
		{"supervisord", firstLine(output("supervisord", "--version"))},
		{"s6-svscan", s6Version()},
		{"curl", firstLine(output("curl", "--version"))},
		{"wget", firstLine(output("wget", "--version"))},
		{"/tmp and /run/hcinit", isolated},
		{"load average at start", loadavg()},
	}
	for _, v := range also {
		rows = append(rows, []string{"also: " + v.name, fmt.Sprintf("%s, %s, `%s`", firstLine(output(v.path, "version")), size(v.path), relPath(v.src))})
	}
	if quick {
		rows = append(rows, []string{"mode", "**quick** (few repetitions: not a measurement)"})
	}
	table([]string{"environment", ""}, rows)
}

func relPath(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return p
}

func size(p string) string {
	st, err := os.Stat(p)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.2f MiB", float64(st.Size())/(1<<20))
}

func loadavg() string {
	f := strings.Fields(readFile("/proc/loadavg"))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// output runs a short command and returns its combined output ("" on failure).
func output(argv ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, _ := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	return string(b)
}

// probe runs a command like the benchmark does (same directory and
// environment) with a deadline and returns its exit code and output.
func probe(timeout time.Duration, argv ...string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Dir, c.Env = workdir, baseEnv
	b, err := c.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		return -1, err.Error()
	}
	if ctx.Err() != nil {
		return -1, "timed out after " + timeout.String() + ": " + string(b)
	}
	return code, string(b)
}

// ---------------------------------------------------------------- running

// Cmd is one benchmarked command line.
type Cmd struct {
	Name string
	Argv []string
	Env  []string // extra variables
	Dir  string   // working directory; default workdir
}

// Sample is one run.
type Sample struct {
	Wall, CPU time.Duration // CPU: user+system of the process and everything it reaped
	Minflt    int64         // minor page faults, likewise
	Code      int           // exit status, 128+N for signal N, -1 when it could not start
}

func lookPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return name
}

// start fork/execs c in workdir with stdin /dev/null and the given stdout and
// stderr (nil: /dev/null).
func start(c Cmd, stdout, stderr *os.File) (int, error) {
	if stdout == nil {
		stdout = devnull
	}
	if stderr == nil {
		stderr = devnull
	}
	dir := c.Dir
	if dir == "" {
		dir = workdir
	}
	return syscall.ForkExec(lookPath(c.Argv[0]), c.Argv, &syscall.ProcAttr{
		Dir:   dir,
		Env:   append(slices.Clone(baseEnv), c.Env...),
		Files: []uintptr{devnull.Fd(), stdout.Fd(), stderr.Fd()},
	})
}

func wait(pid int) (syscall.WaitStatus, syscall.Rusage) {
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		if _, err := syscall.Wait4(pid, &ws, 0, &ru); err != syscall.EINTR {
			return ws, ru
		}
	}
}

func exitCode(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return 255
}

func runOnce(c Cmd, stdout *os.File) Sample {
	t0 := time.Now()
	pid, err := start(c, stdout, nil)
	if err != nil {
		return Sample{Code: -1}
	}
	ws, ru := wait(pid)
	wall := time.Since(t0)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return Sample{Wall: wall, CPU: cpu, Minflt: ru.Minflt, Code: exitCode(ws)}
}

// monotonic is CLOCK_MONOTONIC in nanoseconds, comparable across processes
// (bench/baseline/stamp prints the same clock).
func monotonic() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// interleave runs warmup unrecorded rounds, then rounds of every command in a
// rotated order until maxRounds, or until maxTime once minRounds are done. It
// returns samples[cmd][round].
func interleave(cmds []Cmd, warmup, minRounds, maxRounds int, maxTime time.Duration) [][]Sample {
	samples := make([][]Sample, len(cmds))
	rounds(len(cmds), warmup, minRounds, maxRounds, maxTime, func(i int, record bool) {
		s := runOnce(cmds[i], nil)
		if record {
			samples[i] = append(samples[i], s)
		}
	})
	return samples
}

// rounds calls run(i, record) for i in 0..n-1 once per round, in an order
// rotated (and reversed every other round: ABC CBA BCA ACB …) from round to
// round; record is false during the warm-up rounds.
func rounds(n, warmup, minRounds, maxRounds int, maxTime time.Duration, run func(i int, record bool)) {
	began := time.Now()
	for r := -warmup; r < maxRounds; r++ {
		if r >= minRounds && time.Since(began) > maxTime {
			return
		}
		for k := 0; k < n; k++ {
			i := (k + r + warmup) % n
			if r%2 != 0 {
				i = n - 1 - i
			}
			run(i, r >= 0)
		}
	}
}

// ---------------------------------------------------------------- statistics

func walls(s []Sample) []float64 {
	v := make([]float64, len(s))
	for i, x := range s {
		v[i] = float64(x.Wall) / 1e6
	}
	return v
}

func faults(s []Sample) []float64 {
	v := make([]float64, len(s))
	for i, x := range s {
		v[i] = float64(x.Minflt)
	}
	return v
}

func cpus(s []Sample) []float64 {
	v := make([]float64, len(s))
	for i, x := range s {
		v[i] = float64(x.CPU) / 1e6
	}
	return v
}

func failures(s []Sample) int {
	n := 0
	for _, x := range s {
		if x.Code != 0 {
			n++
		}
	}
	return n
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

func median(xs []float64) float64 { return quantile(xs, 0.5) }

// ratioCI is median(a)/median(b) with a 95% bootstrap interval; a and b are
// paired by round.
func ratioCI(a, b []float64) (r, lo, hi float64) {
	n := min(len(a), len(b))
	if n == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	r = median(a) / median(b)
	rng := rand.New(rand.NewPCG(1, 2))
	iters := 1000
	rs := make([]float64, iters)
	ra, rb := make([]float64, n), make([]float64, n)
	for it := range rs {
		for j := 0; j < n; j++ {
			k := rng.IntN(n)
			ra[j], rb[j] = a[k], b[k]
		}
		rs[it] = median(ra) / median(rb)
	}
	return r, quantile(rs, 0.025), quantile(rs, 0.975)
}

func fmtMs(ms float64) string {
	switch {
	case math.IsNaN(ms):
		return "n/a"
	case ms < 10:
		return fmt.Sprintf("%.3f ms", ms)
	case ms < 1000:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.2f s", ms/1000)
}

func fmtRatio(r, lo, hi float64) string {
	if math.IsNaN(r) {
		return "n/a"
	}
	if math.IsNaN(lo) {
		return fmt.Sprintf("%.2f×", r)
	}
	return fmt.Sprintf("%.2f× [%.2f–%.2f]", r, lo, hi)
}

// verdict compares a ratio (and its interval, NaN if none) with a budget.
func verdict(r, lo, hi, budget float64) string {
	switch {
	case math.IsNaN(r):
		return "n/a"
	case r <= budget && (math.IsNaN(hi) || hi <= budget):
		return "ok"
	case r <= budget:
		return "ok (interval reaches past the budget)"
	case !math.IsNaN(lo) && lo <= budget:
		return "**OVER BUDGET** (interval includes the budget: may be noise)"
	}
	return "**OVER BUDGET**"
}

func table(header []string, rows [][]string) {
	md.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		md.WriteString("---|")
	}
	md.WriteString("\n")
	for _, r := range rows {
		for i := range r {
			r[i] = strings.ReplaceAll(r[i], "|", "\\|")
		}
		md.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	md.WriteString("\n")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// ---------------------------------------------------------------- 1. start-up

func benchStart() {
	sock := filepath.Join(sockdir, "start.sock")
	cmds := []Cmd{
		{Name: "minimal Go fork/exec/wait (**baseline**): `minwrap /bin/true`", Argv: []string{bin("minwrap"), "/bin/true"}},
		{Name: "`hcinit -- /bin/true`", Argv: []string{hcinit, "--socket", sock, "--", "/bin/true"}},
		{Name: "`tini -s -- /bin/true`", Argv: []string{"tini", "-s", "--", "/bin/true"}},
		{Name: "`dumb-init /bin/true`", Argv: []string{"dumb-init", "/bin/true"}},
		{Name: "`catatonit -- /bin/true`", Argv: []string{"catatonit", "--", "/bin/true"}},
		{Name: "`/bin/true` (no wrapper)", Argv: []string{"/bin/true"}},
		{Name: "empty static Go program (runtime start-up)", Argv: []string{bin("empty")}},
		{Name: "`hcinit version` (start-up, no child)", Argv: []string{hcinit, "version"}},
	}
	const base, hc, trueIdx = 0, 1, 5
	for _, v := range also {
		cmds = append(cmds, Cmd{Name: "`hcinit -- /bin/true`, " + v.name, Argv: []string{v.path, "--socket", filepath.Join(sockdir, "start-"+v.name+".sock"), "--", "/bin/true"}})
	}
	warm, minR, maxR, maxT := 20, 150, 500, 30*time.Second
	if quick {
		warm, minR, maxR, maxT = 3, 20, 20, 5*time.Second
	}
	if code, outp := probe(10*time.Second, cmds[hc].Argv...); code != 0 {
		note("`hcinit -- /bin/true` exited %d: %s", code, firstLine(outp))
	}
	s := interleave(cmds, warm, minR, maxR, maxT)
	bw, tw := walls(s[base]), walls(s[trueIdx])
	var rows [][]string
	for i, c := range cmds {
		w := walls(s[i])
		r, lo, hi := ratioCI(w, bw)
		budget, v := "", ""
		if i == hc || i > trueIdx+2 {
			budget = fmt.Sprintf("≤ %.2f×", budgetStart)
			v = verdict(r, lo, hi, budgetStart)
		}
		name := c.Name
		if f := failures(s[i]); f > 0 {
			name += fmt.Sprintf(" (%s of %d exited non-zero)", plural(f, "run", "runs"), len(s[i]))
		}
		rows = append(rows, []string{name,
			fmtMs(median(w)),
			fmtMs(quantile(w, 0.25)) + " – " + fmtMs(quantile(w, 0.75)),
			fmtMs(median(w) - median(tw)),
			fmtMs(median(cpus(s[i]))),
			fmt.Sprintf("%.0f", median(faults(s[i]))),
			fmtRatio(r, lo, hi), budget, v})
	}
	fmt.Fprintf(&md, "## 1. Start-up: wrapper around `/bin/true` (%d interleaved rounds)\n\n", len(s[0]))
	table([]string{"command", "median wall", "p25 – p75", "− /bin/true", "median CPU", "page faults", "vs baseline [95% CI]", "budget", "verdict"}, rows)
	md.WriteString("hcinit runs with `--socket` in a scratch directory so that no other hcinit on the machine interferes; tini gets `-s` so that it does the same subreaper set-up as hcinit instead of printing a warning. CPU and page faults include the child's.\n\n")
	launchTeardown(sock)
}

// launchTeardown splits each wrapper's wall time with a child that stamps
// CLOCK_MONOTONIC when its main runs: launch is the wrapper's fork until then,
// teardown from then until the wrapper has exited. The child's own runtime
// start-up is in launch for every wrapper alike.
func launchTeardown(sock string) {
	cmds := []Cmd{
		{Name: "`minwrap stamp` (**baseline**)", Argv: []string{bin("minwrap"), bin("stamp")}},
		{Name: "`hcinit -- stamp`", Argv: []string{hcinit, "--socket", sock, "--", bin("stamp")}},
		{Name: "`tini -s -- stamp`", Argv: []string{"tini", "-s", "--", bin("stamp")}},
		{Name: "`dumb-init stamp`", Argv: []string{"dumb-init", bin("stamp")}},
		{Name: "`catatonit -- stamp`", Argv: []string{"catatonit", "--", bin("stamp")}},
	}
	for _, v := range also {
		cmds = append(cmds, Cmd{Name: "`hcinit -- stamp`, " + v.name, Argv: []string{v.path, "--socket", filepath.Join(sockdir, "stamp-"+v.name+".sock"), "--", bin("stamp")}})
	}
	warm, minR, maxR, maxT := 10, 100, 300, 12*time.Second
	if quick {
		warm, minR, maxR, maxT = 3, 20, 20, 3*time.Second
	}
	f, err := os.CreateTemp(logdir, "stamp-*")
	if err != nil {
		note("launch/teardown: %v", err)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	launch, teardown := make([][]float64, len(cmds)), make([][]float64, len(cmds))
	bad := make([]int, len(cmds))
	rounds(len(cmds), warm, minR, maxR, maxT, func(i int, record bool) {
		f.Truncate(0)
		f.Seek(0, 0)
		t0 := monotonic()
		pid, err := start(cmds[i], f, nil)
		if err != nil {
			bad[i]++
			return
		}
		ws, _ := wait(pid)
		t1 := monotonic()
		b, _ := os.ReadFile(f.Name())
		stamp, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || exitCode(ws) != 0 || stamp < t0 || stamp > t1 {
			bad[i]++
			return
		}
		if record {
			launch[i] = append(launch[i], float64(stamp-t0)/1e6)
			teardown[i] = append(teardown[i], float64(t1-stamp)/1e6)
		}
	})
	var rows [][]string
	for i, c := range cmds {
		name := c.Name
		if bad[i] > 0 {
			name += fmt.Sprintf(" (%s failed)", plural(bad[i], "run", "runs"))
		}
		rl, lol, hil := ratioCI(launch[i], launch[0])
		rt, lot, hit := ratioCI(teardown[i], teardown[0])
		rows = append(rows, []string{name,
			fmtMs(median(launch[i])), fmtRatio(rl, lol, hil),
			fmtMs(median(teardown[i])), fmtMs(quantile(teardown[i], 0.9)), fmtRatio(rt, lot, hit)})
	}
	n := 0
	if len(launch[0]) > 0 {
		n = len(launch[0])
	}
	fmt.Fprintf(&md, "### 1b. Where the time goes: launch vs teardown (%d interleaved rounds)\n\n", n)
	md.WriteString("The child `stamp` (static Go) prints CLOCK_MONOTONIC as its main starts. Launch: from the wrapper's fork to that moment (includes the child's own Go start-up, the same for every row). Teardown: from then until the wrapper has exited and been reaped.\n\n")
	table([]string{"command", "launch (median)", "launch vs baseline", "teardown (median)", "teardown p90", "teardown vs baseline"}, rows)
	launchSupervisors()
}

// ---------------------------------------------------------------- 2. idle RSS and CPU

type procStat struct {
	rssKiB   int
	anonKiB  int
	fileKiB  int
	ticks    int // utime+stime
	wakeups  int // voluntary context switches, all threads
	threads  int
	alive    bool
	children int
}

func readProc(pid int) procStat {
	var p procStat
	dir := fmt.Sprintf("/proc/%d", pid)
	if st, err := proc.Stat(pid); err == nil && st.State != 'Z' {
		p.alive, p.ticks = true, st.Ticks
	}
	for _, l := range strings.Split(readFile(dir+"/status"), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			p.rssKiB, _ = strconv.Atoi(strings.Fields(v)[0])
		}
		if v, ok := strings.CutPrefix(l, "RssAnon:"); ok {
			p.anonKiB, _ = strconv.Atoi(strings.Fields(v)[0])
		}
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			p.fileKiB, _ = strconv.Atoi(strings.Fields(v)[0])
		}
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			p.threads, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	tasks, _ := filepath.Glob(dir + "/task/*/status")
	for _, t := range tasks {
		for _, l := range strings.Split(readFile(t), "\n") {
			if v, ok := strings.CutPrefix(l, "voluntary_ctxt_switches:"); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				p.wakeups += n
			}
		}
	}
	kids, _ := filepath.Glob(dir + "/task/*/children")
	for _, k := range kids {
		p.children += len(strings.Fields(readFile(k)))
	}
	return p
}

func benchRSS() {
	type inst struct {
		pid    int
		log    string
		s0, s1 procStat
	}
	type wrapper struct {
		name string
		argv func(i int, dir string) []string
	}
	wrappers := []wrapper{
		{"minimal Go wrapper (**baseline**): `minwrap sleep 1000`", func(int, string) []string { return []string{bin("minwrap"), "/bin/sleep", "1000"} }},
		{"`hcinit -- sleep 1000` (default checks)", func(i int, _ string) []string {
			return []string{hcinit, "--socket", filepath.Join(sockdir, fmt.Sprintf("rss%d.sock", i)), "--", "/bin/sleep", "1000"}
		}},
		{"`tini -s -- sleep 1000`", func(int, string) []string { return []string{"tini", "-s", "--", "/bin/sleep", "1000"} }},
		{"`dumb-init sleep 1000`", func(int, string) []string { return []string{"dumb-init", "/bin/sleep", "1000"} }},
		{"`catatonit -- sleep 1000`", func(int, string) []string { return []string{"catatonit", "--", "/bin/sleep", "1000"} }},
		{"`supervisord -n` (program `sleep 1000`; supervisord only)", func(_ int, dir string) []string {
			return supervisordArgv(dir, []string{"/bin/sleep", "1000"})
		}},
		{"`s6-svscan` (service `sleep 1000`; s6-svscan + s6-supervise)", func(_ int, dir string) []string {
			return s6Argv(dir, "#!/bin/sh\nexec /bin/sleep 1000\n")
		}},
	}
	for _, v := range also {
		wrappers = append(wrappers, wrapper{"`hcinit -- sleep 1000`, " + v.name, func(i int, _ string) []string {
			return []string{v.path, "--socket", filepath.Join(sockdir, fmt.Sprintf("rss-%s-%d.sock", v.name, i)), "--", "/bin/sleep", "1000"}
		}})
	}
	const hc, firstAlso = 1, 7
	k := 3
	if quick {
		k = 1
	}
	// Every instance gets a working directory of its own: instances of hcinit
	// sharing one would see each other's .hc-socket.
	insts := make([][]*inst, len(wrappers))
	for w, wr := range wrappers {
		for i := 0; i < k; i++ {
			log := filepath.Join(logdir, fmt.Sprintf("rss-%d-%d.log", w, i))
			dir := filepath.Join(out, "run", fmt.Sprintf("cwd-rss-%d-%d", w, i))
			os.MkdirAll(dir, 0o755)
			f, _ := os.Create(log)
			pid, err := start(Cmd{Argv: wr.argv(i, dir), Dir: dir}, nil, f)
			f.Close()
			if err != nil {
				note("starting %s: %v", wr.name, err)
				continue
			}
			insts[w] = append(insts[w], &inst{pid: pid, log: log})
		}
	}
	// One second, and until every wrapper runs its child (supervisord takes
	// about 2 s to start its program).
	time.Sleep(time.Second)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		all := true
		for _, is := range insts {
			for _, x := range is {
				if p := readProc(x.pid); p.alive && p.children == 0 {
					all = false
				}
			}
		}
		if all {
			break
		}
	}
	for _, is := range insts {
		for _, x := range is {
			x.s0 = readTree(x.pid)
		}
	}
	time.Sleep(idleCPUWindow)
	for _, is := range insts {
		for _, x := range is {
			x.s1 = readTree(x.pid)
		}
	}
	var baseRSS float64
	var rows [][]string
	for w, wr := range wrappers {
		var rss, anon, file, later []float64
		maxTicks, wake, threads := 0, []float64{}, 0
		reason := ""
		for _, x := range insts[w] {
			if !x.s0.alive || !x.s1.alive || x.s0.children == 0 {
				reason = fmt.Sprintf("pid %d not running with its child (alive %v, children %d): %s", x.pid, x.s1.alive, x.s0.children, firstLine(readFile(x.log)))
				continue
			}
			rss = append(rss, float64(x.s0.rssKiB))
			later = append(later, float64(x.s1.rssKiB))
			anon = append(anon, float64(x.s0.anonKiB))
			file = append(file, float64(x.s0.fileKiB))
			maxTicks = max(maxTicks, x.s1.ticks-x.s0.ticks)
			wake = append(wake, float64(x.s1.wakeups-x.s0.wakeups))
			threads = max(threads, x.s1.threads)
		}
		if len(rss) == 0 {
			rows = append(rows, []string{wr.name, "n/a (" + reason + ")", "", "", "", "", "", "", "", "", ""})
			continue
		}
		m := median(rss)
		if w == 0 {
			baseRSS = m
		}
		r := m / baseRSS
		budget, v, cpuV := "", "", ""
		if w == hc || w >= firstAlso {
			budget = fmt.Sprintf("≤ %.1f×", budgetRSS)
			v = verdict(r, math.NaN(), math.NaN(), budgetRSS)
			cpuV = " (budget ~0: ok)"
			if maxTicks > budgetIdleTicks {
				cpuV = " (budget ~0: **OVER BUDGET**)"
			}
		}
		rows = append(rows, []string{wr.name,
			fmt.Sprintf("%.2f MiB", m/1024),
			fmt.Sprintf("%.2f – %.2f MiB", slices.Min(rss)/1024, slices.Max(rss)/1024),
			fmt.Sprintf("%.2f / %.2f MiB", median(anon)/1024, median(file)/1024),
			fmtRatio(r, math.NaN(), math.NaN()), budget, v,
			fmt.Sprintf("%.2f MiB", median(later)/1024),
			fmt.Sprintf("%d%s", maxTicks, cpuV),
			fmt.Sprintf("%.0f", median(wake)),
			strconv.Itoa(threads)})
	}
	for _, is := range insts {
		for _, x := range is {
			killTree(x.pid)
		}
	}
	fmt.Fprintf(&md, "## 2. Idle memory and CPU (%s each, side by side)\n\n", plural(k, "instance", "instances"))
	md.WriteString("Memory, CPU, wake-ups and threads are those of the supervision tree without the workload: the wrapper itself, and for s6 its s6-supervise too.\n\n")
	table([]string{"wrapper", "VmRSS after start-up (median)", "min – max", "RssAnon / RssFile", "vs baseline", "budget", "verdict",
		fmt.Sprintf("VmRSS %s later (median)", idleCPUWindow), fmt.Sprintf("CPU ticks in the next %s (max; 1 tick = 10 ms)", idleCPUWindow), "wake-ups in that window (all threads, median)", "threads"}, rows)
}

// killTree asks pid to stop with SIGTERM, gives it 3 s, then kills it and all
// that is left below it, and reaps it.
func killTree(pid int) {
	below := proc.Descendants(pid)
	syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		var ws syscall.WaitStatus
		if p, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); p == pid {
			pid = 0
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, p := range below {
		syscall.Kill(p, syscall.SIGKILL)
	}
	if pid != 0 {
		syscall.Kill(pid, syscall.SIGKILL)
		wait(pid)
	}
}

// sweep kills and reaps whatever child the driver still has (its own or
// orphans it inherited as subreaper).
func sweep() {
	self := os.Getpid()
	for round := 0; round < 300; round++ {
		kids := strings.Fields(readFile(fmt.Sprintf("/proc/%d/task/%d/children", self, self)))
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", self))
		for _, t := range tasks {
			kids = append(kids, strings.Fields(readFile(t))...)
		}
		for {
			var ws syscall.WaitStatus
			if p, _ := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); p <= 0 {
				break
			}
		}
		if len(kids) == 0 {
			return
		}
		for _, k := range kids {
			if p, err := strconv.Atoi(k); err == nil {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------- 3. orphans

type orphanResult struct {
	BurstReap float64 `json:"burst_reap_ms"`
	BurstCPU  float64 `json:"burst_init_cpu_ms"`
	Stream    float64 `json:"stream_ms"`
	StreamCPU float64 `json:"stream_init_cpu_ms"`
	Left      int     `json:"left"`
	Zombies   int     `json:"zombies"`
}

// orphanRuns are one init's runs of one phase, indexed by repetition (NaN
// where a run failed), so that inits can be compared rep by rep.
type orphanRuns struct {
	inner, outer, cpu []float64
	left, zombies     int
	failed            int
	failure           string
}

func benchOrphans() {
	n := orphansPerRun
	// Repetitions: at least min, up to max while the phase is under its time
	// cap (a busy machine can make a stream run take 8 s instead of 4).
	burstMin, burstReps, burstCap := 5, 11, 40*time.Second
	streamMin, streamReps, streamCap := 1, 3, 40*time.Second
	if quick {
		n, burstMin, burstReps, streamMin, streamReps = 2000, 1, 1, 1, 1
	}
	pid1 := os.Geteuid() == 0
	if _, err := exec.LookPath("unshare"); err != nil {
		pid1 = false
	}
	wrap := func(argv ...string) []string {
		if pid1 {
			return append([]string{"unshare", "--pid", "--fork", "--mount-proc"}, argv...)
		}
		return argv
	}
	inits := []struct {
		name string
		argv []string
	}{
		{"tini (**reference**)", wrap("tini", "-s", "--")},
		{"hcinit", wrap(hcinit, "--socket", filepath.Join(sockdir, "orphans.sock"), "--")},
		{"dumb-init", wrap("dumb-init")},
	}
	for _, v := range also {
		inits = append(inits, struct {
			name string
			argv []string
		}{"hcinit, " + v.name, wrap(v.path, "--socket", filepath.Join(sockdir, "orphans-"+v.name+".sock"), "--")})
	}
	const ref, hc = 0, 1
	phase := func(name string, minReps, reps int, maxTime time.Duration) []orphanRuns {
		runs := make([]orphanRuns, len(inits))
		for i := range runs {
			runs[i].inner = make([]float64, 0, reps)
			runs[i].outer = make([]float64, 0, reps)
			runs[i].cpu = make([]float64, 0, reps)
		}
		f, err := os.CreateTemp(logdir, "orphans-*.json")
		if err != nil {
			fatal(err)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		rounds(len(inits), 0, minReps, reps, maxTime, func(i int, _ bool) {
			f.Truncate(0)
			f.Seek(0, 0)
			argv := append(slices.Clone(inits[i].argv), bin("orphans"), "-n", strconv.Itoa(n), "-phases", name)
			smp := runOnce(Cmd{Argv: argv}, f)
			b, _ := os.ReadFile(f.Name())
			var r orphanResult
			ok := json.Unmarshal([]byte(firstLine(string(b))), &r) == nil
			o := &runs[i]
			o.left, o.zombies = max(o.left, r.Left), max(o.zombies, r.Zombies)
			v, cpu := r.BurstReap, r.BurstCPU
			if name == "stream" {
				v, cpu = r.Stream, r.StreamCPU
			}
			outer := float64(smp.Wall) / 1e6
			if !ok || smp.Code != 0 || v <= 0 {
				o.failed++
				o.failure = fmt.Sprintf("exit %d: %s", smp.Code, firstLine(string(b)))
				v, cpu, outer = math.NaN(), math.NaN(), math.NaN()
			}
			// One run per init and round: the slices stay paired by round.
			o.inner, o.cpu, o.outer = append(o.inner, v), append(o.cpu, cpu), append(o.outer, outer)
		})
		return runs
	}
	burst := phase("burst", burstMin, burstReps, burstCap)
	stream := phase("stream", streamMin, streamReps, streamCap)
	burstReps, streamReps = len(burst[ref].inner), len(stream[ref].inner)

	var rows [][]string
	for i, in := range inits {
		b, st := burst[i], stream[i]
		rb, lob, hib := ratioCI(valid(b.inner, burst[ref].inner))
		rs, los, his := ratioCI(valid(st.inner, stream[ref].inner))
		budget, v := "", ""
		if i == hc {
			budget = fmt.Sprintf("none left; ≤ %.2f× tini", budgetOrphans)
			v = "burst " + verdict(rb, lob, hib, budgetOrphans) + "; stream " + verdict(rs, los, his, budgetOrphans)
			if b.left+b.zombies+st.left+st.zombies > 0 {
				v = "**OVER BUDGET** (processes or zombies left) — " + v
			}
		}
		name := in.name
		if f := b.failed + st.failed; f > 0 {
			name += fmt.Sprintf(" (%s failed: %s%s)", plural(f, "run", "runs"), b.failure, st.failure)
		}
		rows = append(rows, []string{name,
			fmtMs(nanMedian(b.inner)), fmtMs(nanMedian(b.cpu)), fmtMs(nanMedian(b.outer)),
			fmtMs(nanMedian(st.inner)), fmtMs(nanMedian(st.cpu)), fmtMs(nanMedian(st.outer)),
			fmt.Sprintf("%d / %d", max(b.left, st.left), max(b.zombies, st.zombies)),
			fmtRatio(rb, lob, hib), fmtRatio(rs, los, his), budget, v})
	}
	mode := "each init is PID 1 of its own PID namespace: `unshare --pid --fork --mount-proc INIT … orphans`"
	if !pid1 {
		mode = "each init is a child subreaper (not root or no unshare: the PID-1 variant needs both)"
	}
	fmt.Fprintf(&md, "## 3. Reaping %d orphans (%s)\n\n", n, mode)
	fmt.Fprintf(&md, "burst: %d zombies re-parented to the init at once, time until it has reaped them all (median of %d); stream: %d double forks in a row, orphans re-parented alive or dead while the init reaps, time until none is left (median of %d). Runs are interleaved; ratios are paired by repetition. Init CPU: user+system time of the init during the phase (/proc/INIT/stat, 10 ms steps). Outer: the whole `unshare … INIT orphans` command.\n\n",
		n, burstReps, n, streamReps)
	table([]string{"init", "burst: reap", "burst: init CPU", "burst: outer", "stream: fork+reap", "stream: init CPU", "stream: outer", "left / zombies (worst)", "burst vs tini [95% CI]", "stream vs tini [95% CI]", "budget", "verdict"}, rows)
	md.WriteString("Every burst run (ms), in order:\n\n")
	for i, in := range inits {
		var v []string
		for _, x := range burst[i].inner {
			v = append(v, fmt.Sprintf("%.1f", x))
		}
		fmt.Fprintf(&md, "- %s: %s\n", strings.ReplaceAll(in.name, " (**reference**)", ""), strings.Join(v, ", "))
	}
	md.WriteString("\n")
}

// valid drops the pairs in which either value is NaN.
func valid(a, b []float64) ([]float64, []float64) {
	var x, y []float64
	for i := range min(len(a), len(b)) {
		if !math.IsNaN(a[i]) && !math.IsNaN(b[i]) {
			x, y = append(x, a[i]), append(y, b[i])
		}
	}
	return x, y
}

func nanMedian(a []float64) float64 {
	var x []float64
	for _, v := range a {
		if !math.IsNaN(v) {
			x = append(x, v)
		}
	}
	return median(x)
}

// ---------------------------------------------------------------- 4. health client

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 18080
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func httpCount(port int) (int, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/count", port))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func benchHealth() {
	md.WriteString("## 4. Health client\n\n")
	port := freePort()
	url := fmt.Sprintf("http://127.0.0.1:%d/health", port)
	appArgv := []string{bin("httpd"), "-addr", fmt.Sprintf("127.0.0.1:%d", port)}
	os.Remove(hcSocket) // ours from an earlier run, if that one was killed
	logPath := filepath.Join(logdir, "hcinit-health.log")
	logf, _ := os.Create(logPath)
	hcArgv := append([]string{hcinit, "--socket", hcSocket, "--interval", healthInterval.String(), "--check", url, "--"}, appArgv...)
	wrapperPid, err := start(Cmd{Argv: hcArgv}, nil, logf)
	logf.Close()
	checkErr := ""
	if err != nil {
		checkErr = "starting hcinit: " + err.Error()
	}
	appUp := func() bool {
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if _, err := httpCount(port); err == nil {
				return true
			}
		}
		return false
	}
	appPid := 0
	if checkErr == "" && !appUp() {
		checkErr = "the application did not come up under hcinit: " + firstLine(readFile(logPath))
	}
	if checkErr != "" {
		// Measure curl and wget anyway, against the application alone.
		if wrapperPid > 0 {
			killTree(wrapperPid)
			wrapperPid = 0
		}
		if appPid, err = start(Cmd{Argv: appArgv}, nil, nil); err != nil || !appUp() {
			fmt.Fprintf(&md, "n/a: the HTTP application does not start (%v)\n\n", err)
			return
		}
	}

	checkArgv := []string{hcinit, "check", "--socket", hcSocket, "--timeout", clientTimeoutArg}
	pingArgv := []string{bin("unixping"), hcSocket}
	if checkErr == "" {
		// hcinit may report "starting" first; give it a few intervals.
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, o := probe(15*time.Second, checkArgv...)
			if code == 0 {
				break
			}
			if time.Now().After(deadline) {
				checkErr = fmt.Sprintf("exit %d: %s", code, firstLine(o))
				if !readProc(wrapperPid).alive {
					checkErr += "; hcinit exited: " + firstLine(readFile(logPath))
				}
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	pingErr := ""
	if code, o := probe(15*time.Second, pingArgv...); code != 0 {
		pingErr = fmt.Sprintf("exit %d: %s", code, firstLine(o))
	}

	// Wall time, interleaved.
	type row struct {
		cmd  Cmd
		fail string
	}
	rowsDef := []row{
		{Cmd{Name: "minimal Go unix-socket client (**baseline**): `unixping SOCKET`", Argv: pingArgv}, pingErr},
		{Cmd{Name: "`hcinit check --socket SOCKET`", Argv: checkArgv}, checkErr},
		{Cmd{Name: "`curl -fsS -o /dev/null URL` (**reference**)", Argv: []string{"curl", "-fsS", "-o", "/dev/null", url}}, ""},
		{Cmd{Name: "`wget -q -O /dev/null URL`", Argv: []string{"wget", "-q", "-O", "/dev/null", url}}, ""},
	}
	const base, hc, curl = 0, 1, 2
	var cmds []Cmd
	idx := map[int]int{}
	for i, r := range rowsDef {
		if r.fail == "" {
			idx[i] = len(cmds)
			cmds = append(cmds, r.cmd)
		}
	}
	warm, minR, maxR, maxT := 10, 100, 400, 25*time.Second
	if quick {
		warm, minR, maxR, maxT = 3, 20, 20, 5*time.Second
	}
	s := interleave(cmds, warm, minR, maxR, maxT)
	get := func(i int) []float64 {
		if j, ok := idx[i]; ok {
			return walls(s[j])
		}
		return nil
	}
	var rows [][]string
	for i, r := range rowsDef {
		if r.fail != "" {
			what := "hcinit check failed"
			if i == base {
				what = "baseline failed"
			}
			rows = append(rows, []string{r.cmd.Name, fmt.Sprintf("n/a (%s: %s)", what, r.fail), "", "", "", "", "", ""})
			continue
		}
		w := get(i)
		rb, lob, hib := ratioCI(w, get(base))
		rc, loc, hic := ratioCI(w, get(curl))
		budget, v := "", ""
		if i == hc {
			budget = fmt.Sprintf("≤ %.2f× baseline, ≤ %.2f× curl", budgetCheck, budgetCheckCurl)
			v = "baseline: " + verdict(rb, lob, hib, budgetCheck) + "; curl: " + verdict(rc, loc, hic, budgetCheckCurl)
		}
		name := r.cmd.Name
		if f := failures(s[idx[i]]); f > 0 {
			name += fmt.Sprintf(" (%s of %d exited non-zero)", plural(f, "run", "runs"), len(w))
		}
		rows = append(rows, []string{name, fmtMs(median(w)),
			fmtMs(quantile(w, 0.25)) + " – " + fmtMs(quantile(w, 0.75)),
			fmtMs(median(cpus(s[idx[i]]))),
			fmtRatio(rb, lob, hib), fmtRatio(rc, loc, hic), budget, v})
	}
	rounds := 0
	if len(s) > 0 {
		rounds = len(s[0])
	}
	fmt.Fprintf(&md, "Setup: `hcinit --socket %s --interval %s --check %s -- httpd`, a static Go HTTP server of ours that counts the requests to /health. Wall time, %d interleaved rounds:\n\n",
		hcSocket, healthInterval, "http://127.0.0.1:PORT/health", rounds)
	table([]string{"client", "median wall", "p25 – p75", "median CPU", "vs baseline [95% CI]", "vs curl [95% CI]", "budget", "verdict"}, rows)

	// Storms.
	var storm [][]string
	if checkErr == "" {
		c0, _ := httpCount(port)
		t0 := time.Now()
		time.Sleep(3 * time.Second)
		c1, _ := httpCount(port)
		win := time.Since(t0)
		storm = append(storm, []string{"none (idle, for comparison)", "", win.Round(time.Millisecond).String(),
			strconv.Itoa(c1 - c0), fmt.Sprintf("%.2f", float64(c1-c0)/(win.Seconds()/healthInterval.Seconds())), "", ""})
	}
	stormRow := func(name string, argv []string, failed string, budgeted bool) {
		if failed != "" {
			storm = append(storm, []string{name, "n/a (" + failed + ")", "", "", "", "", ""})
			return
		}
		answered, window, checks, outputs := runStorm(argv, port)
		allowed := int(window/healthInterval) + 1
		v, budget := "", ""
		if budgeted {
			budget = fmt.Sprintf("all answered; ≤ %d (⌊window/interval⌋+1)", allowed)
			v = "ok"
			if answered < stormClients || checks > allowed {
				v = "**OVER BUDGET**"
			}
		}
		ans := fmt.Sprintf("%d / %d", answered, stormClients)
		if answered < stormClients && outputs != "" {
			ans += " — others said: " + outputs
		}
		storm = append(storm, []string{name, ans, window.Round(time.Millisecond).String(), strconv.Itoa(checks),
			fmt.Sprintf("%.2f", float64(checks)/(window.Seconds()/healthInterval.Seconds())), budget, v})
	}
	stormRow(fmt.Sprintf("%d × `hcinit check`", stormClients), checkArgv, checkErr, true)
	stormRow(fmt.Sprintf("%d × `unixping` (raw v1 ping)", stormClients), pingArgv, pingErr, false)
	fmt.Fprintf(&md, "Client storm: %d clients started at once against the same hcinit (check interval %s); \"checks run\" counts the requests that reached the application's /health:\n\n", stormClients, healthInterval)
	table([]string{"clients", "answered healthy", "window", "checks run", "checks per interval", "budget", "verdict"}, storm)
	if wrapperPid > 0 && checkErr == "" {
		p := readProc(wrapperPid)
		fmt.Fprintf(&md, "hcinit after the storms: VmRSS %.2f MiB, %d threads.\n\n", float64(p.rssKiB)/1024, p.threads)
	}
	if checkErr != "" {
		note("`hcinit check` did not work, its rows are n/a: %s (hcinit log: `%s`)", checkErr, relPath(logPath))
	}
	if wrapperPid > 0 {
		killTree(wrapperPid)
	}
	if appPid > 0 {
		killTree(appPid)
	}
}

// runStorm starts stormClients processes of argv at once and waits for all.
// It returns how many answered "healthy" (exit 0), the window, how many
// checks reached the application meanwhile, and a sample of other answers.
func runStorm(argv []string, port int) (answered int, window time.Duration, checks int, others string) {
	outPath := filepath.Join(logdir, "storm.out")
	f, err := os.OpenFile(outPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, 0, 0, err.Error()
	}
	defer f.Close()
	c0, _ := httpCount(port)
	t0 := time.Now()
	pids := make([]int, 0, stormClients)
	startFail := 0
	for i := 0; i < stormClients; i++ {
		pid, err := start(Cmd{Argv: argv}, f, f)
		if err != nil {
			startFail++
			continue
		}
		pids = append(pids, pid)
	}
	for _, pid := range pids {
		if ws, _ := wait(pid); exitCode(ws) == 0 {
			answered++
		}
	}
	window = time.Since(t0)
	c1, _ := httpCount(port)
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(readFile(outPath)))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && l != "healthy" {
			seen[firstLine(l)]++
		}
	}
	var o []string
	for l, n := range seen {
		o = append(o, fmt.Sprintf("%d× %q", n, l))
	}
	sort.Strings(o)
	if len(o) > 3 {
		o = o[:3]
	}
	if startFail > 0 {
		o = append(o, fmt.Sprintf("%d could not be started", startFail))
	}
	return answered, window, c1 - c0, strings.Join(o, "; ")
}

// ---------------------------------------------------------------- 5. init trace

var initLine = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs`)

type initStats struct {
	clock, bytes, allocs, at map[string][]float64
	order                    []string
	mainAt                   []float64 // end of the last init: when main starts
}

func traceInit(runs int, argv ...string) initStats {
	st := initStats{clock: map[string][]float64{}, bytes: map[string][]float64{}, allocs: map[string][]float64{}, at: map[string][]float64{}}
	for i := 0; i < runs; i++ {
		c := exec.Command(argv[0], argv[1:]...)
		c.Dir, c.Env = workdir, append(slices.Clone(baseEnv), "GODEBUG=inittrace=1")
		b, _ := c.CombinedOutput()
		last := 0.0
		for _, l := range strings.Split(string(b), "\n") {
			m := initLine.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			pkg := m[1]
			at, _ := strconv.ParseFloat(m[2], 64)
			clk, _ := strconv.ParseFloat(m[3], 64)
			by, _ := strconv.ParseFloat(m[4], 64)
			al, _ := strconv.ParseFloat(m[5], 64)
			if _, ok := st.clock[pkg]; !ok {
				st.order = append(st.order, pkg)
			}
			st.clock[pkg] = append(st.clock[pkg], clk)
			st.bytes[pkg] = append(st.bytes[pkg], by)
			st.allocs[pkg] = append(st.allocs[pkg], al)
			st.at[pkg] = append(st.at[pkg], at)
			last = max(last, at+clk)
		}
		st.mainAt = append(st.mainAt, last)
	}
	return st
}

func benchInit() {
	runs := 21
	if quick {
		runs = 5
	}
	hc := traceInit(runs, hcinit, "version")
	type pk struct {
		name string
		clk  float64
	}
	var pkgs []pk
	total := 0.0
	for _, p := range hc.order {
		c := median(hc.clock[p])
		total += c
		pkgs = append(pkgs, pk{p, c})
	}
	sort.SliceStable(pkgs, func(i, j int) bool { return pkgs[i].clk > pkgs[j].clk })
	var rows [][]string
	for _, p := range pkgs {
		rows = append(rows, []string{"`" + p.name + "`", fmt.Sprintf("%.3f", p.clk), fmt.Sprintf("%.2f", median(hc.at[p.name])),
			fmt.Sprintf("%.0f", median(hc.bytes[p.name])), fmt.Sprintf("%.0f", median(hc.allocs[p.name]))})
	}
	fmt.Fprintf(&md, "## 5. Package initialisation of hcinit (`GODEBUG=inittrace=1 hcinit version`, median of %d runs)\n\n", runs)
	fmt.Fprintf(&md, "Sum of the init functions' clocks: %.3f ms. The last init ends (main starts) at %.3f ms after the runtime started (median); the difference is runtime set-up and page faults between inits, not init code. For comparison, main starts at: `minwrap` %.3f ms, `unixping` %.3f ms, `empty` %.3f ms.\n\n",
		total, median(hc.mainAt),
		median(traceInit(runs, bin("minwrap"), "/bin/true").mainAt),
		median(traceInit(runs, bin("unixping"), filepath.Join(sockdir, "no-such.sock")).mainAt),
		median(traceInit(runs, bin("empty")).mainAt))
	table([]string{"package", "init clock (ms)", "starts at (ms)", "bytes", "allocs"}, rows)
}
