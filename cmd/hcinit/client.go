package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/duration"
	"github.com/wisdom-oss/go-healthcheck/internal/hcclient"
	"github.com/wisdom-oss/go-healthcheck/internal/subcmd"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// This file is hcinit's client modes: `hcinit check` (and go-healthcheck
// v1.0.x's `-healthcheck`) and `hcinit status`. They ask a running hcinit
// through internal/hcclient and never exit 2, Docker's reserved code.

// defaultClientTimeout bounds `hcinit check` and `hcinit status` as a whole.
// It is below Docker's default probe timeout (30s), so the client, not Docker,
// reports a hung wrapper; under kubelet (timeoutSeconds 1 by default) pass a
// shorter --timeout.
const defaultClientTimeout = 5 * time.Second

// checkUsage documents `hcinit check`. A function, as the other texts here:
// nothing is built at package initialisation, which every start pays.
func checkUsage() string {
	return `Usage: hcinit check [--live|--ready] [--json] [--timeout D] [--socket ADDR]
       hcinit -healthcheck

Ask the running hcinit whether its child is healthy (every check counts, whatever
its level). Exit status 0 means healthy (or live, or ready), 1 anything else,
including "no hcinit answered"; never 2. The first output line is the status
("healthy", or what is wrong); at most 4096 bytes are printed, as Docker keeps no
more, with a check's control characters escaped (\x1b). The check never runs a
probe itself: hcinit answers from its state, so any number of clients cost one
probe per interval. Only this container's hcinit is believed (its process in
this pid and mount namespace), and only a reply it ended within the timeout.

  --live         ask for liveness: fails only when a live-level check is unhealthy
                 or the child is gone
  --ready        ask for readiness: every ready-level check passes, READY=1 was
                 sent (notify checks), and hcinit is not stopping
  --json         print the full state (each check, its last results, the failing
                 streak) as JSON, shortened to fit 4096 bytes
  --timeout D    give up after D (default ` + defaultClientTimeout.String() + `; Go duration or plain seconds)
  --socket ADDR  hcinit's socket, or a comma-separated list tried in order
                 (default $HCINIT_SOCKET, else /run/hcinit.sock, /tmp/hcinit.sock,
                 /dev/shm/hcinit.sock, @hcinit.mnt-INODE, @hcinit)
`
}

// statusUsage documents `hcinit status`.
func statusUsage() string {
	return `Usage: hcinit status [--json] [--timeout D] [--socket ADDR]

Print the running hcinit's health state for a person: overall status, liveness,
readiness, the child's uptime and restarts (count, last exit code, reason and
time), what the child said over NOTIFY_SOCKET, and one line per check with the
time of its last state change and its latest result. Exit status 0 when
healthy, 1 otherwise.

  --json         print the full state as indented JSON instead
  --timeout D    give up after D (default ` + defaultClientTimeout.String() + `; Go duration or plain seconds)
  --socket ADDR  as for hcinit check
`
}

type clientFlags struct {
	live, ready, json bool
	timeout           time.Duration
	socket            string
}

// errClientHelp says --help was asked for: the usage went to stdout.
var errClientHelp = errors.New("help")

// parseClientFlags parses the options of `hcinit check` and `hcinit status`
// with the main command's rules: --name VALUE or --name=VALUE, durations as
// Go durations or plain seconds (--timeout 1, as Kubernetes users write it),
// -h/--help prints the usage on stdout. Errors are reported on stderr in the
// main command's words.
func parseClientFlags(name, usage string, args []string, stdout, stderr io.Writer, withLevels bool) (clientFlags, error) {
	f := clientFlags{timeout: defaultClientTimeout}
	err := f.parse(args, withLevels)
	switch {
	case err == errClientHelp:
		fmt.Fprint(stdout, usage)
	case err != nil:
		fmt.Fprintf(stderr, "hcinit %s: %v\nTry 'hcinit %s --help'.\n", name, err, name)
	}
	return f, err
}

func (f *clientFlags) parse(args []string, withLevels bool) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case subcmd.IsHealthcheck(a):
		case a == "--":
			if i+1 < len(args) {
				return fmt.Errorf("unexpected argument %q", args[i+1])
			}
			return nil // as before the split: a final "--" skips f.check
		case a == "-h":
			return errClientHelp
		case strings.HasPrefix(a, "--"):
			opt, val, hasVal := strings.Cut(a[2:], "=")
			if !hasVal && (opt == "timeout" || opt == "socket") {
				if i+1 >= len(args) {
					return fmt.Errorf("option --%s needs a value", opt)
				}
				i++
				val, hasVal = args[i], true
			}
			if err := f.setLong(opt, val, hasVal, withLevels); err != nil {
				return err
			}
		case len(a) > 1 && a[0] == '-':
			return fmt.Errorf("unknown option -%c", a[1])
		default:
			return fmt.Errorf("unexpected argument %q", a)
		}
	}
	return f.check()
}

// setLong sets the long option opt; hasVal says "=VALUE" (or, for the
// options that take one, the next argument) came with it.
func (f *clientFlags) setLong(opt, val string, hasVal, withLevels bool) error {
	flags := map[string]*bool{"json": &f.json}
	if withLevels {
		flags["live"], flags["ready"] = &f.live, &f.ready
	}
	switch b, isFlag := flags[opt]; {
	case opt == "help" || isFlag:
		if hasVal {
			return fmt.Errorf("option --%s takes no value", opt)
		}
		if opt == "help" {
			return errClientHelp
		}
		*b = true
	case opt == "socket":
		f.socket = val
	case opt == "timeout":
		d, err := duration.Parse(val)
		if err != nil {
			return fmt.Errorf("option --timeout: %w", err)
		}
		if d <= 0 {
			return fmt.Errorf("option --timeout: want a positive duration, have %q", val)
		}
		f.timeout = d
	default:
		return fmt.Errorf("unknown option --%s", opt)
	}
	return nil
}

func (f *clientFlags) check() error {
	if f.live && f.ready {
		return errors.New("--live and --ready exclude each other")
	}
	return nil
}

// checkMain implements `hcinit check` (and `hcinit -healthcheck`; the word
// -healthcheck is ignored among args). It returns the exit status: 0 healthy,
// 1 anything else — a bad flag included, so a health check never reports
// Docker's reserved 2.
func checkMain(args []string, stdout, stderr io.Writer) int {
	f, err := parseClientFlags("check", checkUsage(), args, stdout, stderr, true)
	if err == errClientHelp {
		return 0
	}
	if err != nil {
		return 1 // never Docker's reserved 2
	}
	// A deadline, not a context: no runtime timer, no network poller (hcclient.Ask).
	deadline := time.Now().Add(f.timeout)
	addrs := clientAddrs(f.socket)

	if !f.json {
		word := hcclient.WordPing
		if f.live {
			word = hcclient.WordLive
		} else if f.ready {
			word = hcclient.WordReady
		}
		reply, err := hcclient.Ask(deadline, addrs, word, common.BufferSize)
		if err != nil {
			reply = "unhealthy: " + err.Error()
		}
		writeCapped(stdout, printable(reply, true)+"\n")
		if reply == common.HealthcheckIPCResponse {
			return 0
		}
		return 1
	}

	st, err := fetchStatus(deadline, addrs)
	if err != nil {
		writeCapped(stdout, string(encodeJSON(struct {
			Status health.State `json:"status"`
			Reason string       `json:"reason"`
		}{health.StatusUnhealthy, err.Error()}, false)))
		return 1
	}
	ok := st.Overall == health.StatusHealthy
	if f.live {
		ok = st.Live
	} else if f.ready {
		ok = st.Ready
	}
	stdout.Write(fitJSON(st, common.BufferSize))
	if ok {
		return 0
	}
	return 1
}

// statusMain implements `hcinit status`: the state as an aligned table (or
// --json). It returns 0 when healthy, else 1.
func statusMain(args []string, stdout, stderr io.Writer) int {
	f, err := parseClientFlags("status", statusUsage(), args, stdout, stderr, false)
	if err == errClientHelp {
		return 0
	}
	if err != nil {
		return 1 // a client mode never exits 2 (Docker's reserved code)
	}
	st, err := fetchStatus(time.Now().Add(f.timeout), clientAddrs(f.socket))
	if err != nil {
		if f.json {
			// --json always prints JSON: scripts parse it whatever happened.
			b, _ := json.MarshalIndent(health.Status{Overall: health.StatusUnhealthy, Reason: err.Error(), Checks: []health.CheckStatus{}}, "", "  ")
			stdout.Write(append(b, '\n'))
		}
		fmt.Fprintf(stderr, "hcinit status: %v\n", err)
		return 1
	}
	if f.json {
		b, _ := json.MarshalIndent(st, "", "  ")
		stdout.Write(append(b, '\n'))
	} else {
		writeTable(stdout, st)
	}
	if st.Overall == health.StatusHealthy {
		return 0
	}
	return 1
}

func fetchStatus(deadline time.Time, addrs []string) (health.Status, error) {
	var st health.Status
	reply, err := hcclient.Ask(deadline, addrs, hcclient.WordStatus, hcclient.MaxStatus)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(reply), &st); err != nil {
		return st, fmt.Errorf("decode status: %w (reply %.80q)", err, reply)
	}
	return st, nil
}

// envSocket is --socket's environment twin, HCINIT_SOCKET: the supervisor
// reads it with its other options, the client modes as --socket's default.
var envSocket = option{long: "socket"}.envName()

// clientAddrs is where the client looks for hcinit: --socket, else
// $HCINIT_SOCKET (one address or a comma-separated list), else
// health.DefaultSockets.
func clientAddrs(socket string) []string {
	if socket == "" {
		socket = os.Getenv(envSocket)
	}
	return health.SocketAddrs(socket)
}

func writeCapped(w io.Writer, s string) {
	if len(s) > common.BufferSize {
		s = s[:common.BufferSize-1] + "\n"
	}
	io.WriteString(w, s)
}

// fitJSON encodes st as JSON of at most limit bytes ("status" is the first
// key) that keeps every check's name and status: it drops old results first,
// then shortens texts, then drops each check's results and details, and at
// last writes only each check's name and status, compactly.
func fitJSON(st health.Status, limit int) []byte {
	b := encodeJSON(st, true)
	for len(b) > limit && dropOldest(&st) {
		b = encodeJSON(st, true)
	}
	for keep := 1024; len(b) > limit && keep >= 16; keep /= 2 {
		shorten(&st, keep)
		b = encodeJSON(st, true)
	}
	if len(b) <= limit {
		return b
	}
	for i := range st.Checks {
		st.Checks[i].Log, st.Checks[i].Target = []health.Result{}, ""
	}
	if b = encodeJSON(st, true); len(b) <= limit {
		return b
	}
	// Very many checks: the verdict and each check's name and status.
	short := briefStatus(st)
	if b = encodeJSON(short, true); len(b) <= limit {
		return b
	}
	short.Reason = ""
	return encodeJSON(short, false)
}

func encodeJSON(v any, indent bool) []byte {
	var b []byte
	if indent {
		b, _ = json.MarshalIndent(v, "", "  ")
	} else {
		b, _ = json.Marshal(v)
	}
	return append(b, '\n')
}

// dropOldest drops each check's oldest result, keeping the latest; false
// when there was none to drop.
func dropOldest(st *health.Status) bool {
	dropped := false
	for i := range st.Checks {
		if n := len(st.Checks[i].Log); n > 1 {
			st.Checks[i].Log = st.Checks[i].Log[1:]
			dropped = true
		}
	}
	return dropped
}

// shorten cuts st's texts to keep bytes, the results' outputs to half that.
func shorten(st *health.Status, keep int) {
	cut := func(s *string, n int) {
		if len(*s) > n {
			*s = (*s)[:n]
		}
	}
	cut(&st.Reason, keep)
	cut(&st.LiveReason, keep)
	cut(&st.ReadyReason, keep)
	if st.Notify != nil {
		cut(&st.Notify.Status, keep)
	}
	for i := range st.Checks {
		for j := range st.Checks[i].Log {
			cut(&st.Checks[i].Log[j].Output, keep/2)
		}
	}
}

type briefCheck struct {
	Name   string       `json:"name"`
	Status health.State `json:"status"`
}

type brief struct {
	Overall       health.State `json:"status"`
	Reason        string       `json:"reason,omitempty"`
	Live          bool         `json:"live"`
	Ready         bool         `json:"ready"`
	FailingStreak int          `json:"failing_streak"`
	ChildPID      int          `json:"child_pid"`
	Checks        []briefCheck `json:"checks"`
}

// briefStatus is st's verdict and each check's name and status.
func briefStatus(st health.Status) brief {
	short := brief{st.Overall, st.Reason, st.Live, st.Ready, st.FailingStreak, st.ChildPID, []briefCheck{}}
	for _, c := range st.Checks {
		short.Checks = append(short.Checks, briefCheck{c.Name, c.Status})
	}
	return short
}

// writeTable prints st for a person.
func writeTable(w io.Writer, st health.Status) {
	writeVerdict(w, "status:  ", string(st.Overall), st.Reason)
	writeVerdict(w, "\nlive:    ", yesNo(st.Live), st.LiveReason)
	writeVerdict(w, "\nready:   ", yesNo(st.Ready), st.ReadyReason)
	writeChild(w, st)
	writeNotify(w, st.Notify)
	fmt.Fprintf(w, "\nfailing streak: %d\n\n", st.FailingStreak)
	writeChecks(w, st.Checks)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// writeVerdict prints head, value and, when there is one, the reason.
func writeVerdict(w io.Writer, head, value, reason string) {
	fmt.Fprintf(w, "%s%s", head, value)
	if reason != "" {
		fmt.Fprintf(w, " (%s)", oneLine(reason, 100))
	}
}

// writeChild prints the child's pid or exit code, uptime and restarts.
func writeChild(w io.Writer, st health.Status) {
	switch {
	case st.ChildExited:
		fmt.Fprintf(w, "\nchild:   exited with code %d", st.ExitCode)
	case st.ChildPID > 0:
		fmt.Fprintf(w, "\nchild:   pid %d", st.ChildPID)
		if st.ChildUptime > 0 {
			fmt.Fprintf(w, ", up %s", roughly(time.Duration(st.ChildUptime*float64(time.Second))))
		}
	}
	if st.Restarts > 0 || st.LastExit != nil {
		fmt.Fprintf(w, "\nrestarts: %d", st.Restarts)
		if e := st.LastExit; e != nil {
			fmt.Fprintf(w, " (last exit: code %d, %s, %s ago)", e.Code, e.Reason, roughly(time.Since(e.Time)))
		}
	}
}

// writeNotify prints what the child said over NOTIFY_SOCKET, if anything.
func writeNotify(w io.Writer, n *health.NotifyStatus) {
	if n == nil || !n.Ready && n.Status == "" && n.LastWatchdog.IsZero() {
		return
	}
	fmt.Fprintf(w, "\nnotify:  ready=%s", yesNo(n.Ready))
	if n.Status != "" {
		fmt.Fprintf(w, " STATUS=%q", n.Status)
	}
	if !n.LastWatchdog.IsZero() {
		fmt.Fprintf(w, " last WATCHDOG=1 %s ago", time.Since(n.LastWatchdog).Round(time.Millisecond))
	}
}

// writeChecks prints one aligned line per check.
func writeChecks(w io.Writer, checks []health.CheckStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tKIND\tLEVEL\tSTATUS\tSINCE\tSTREAK\tLAST RUN\tEXIT\tOUTPUT")
	for _, c := range checks {
		last, exit, out, since := "-", "-", "-", "-"
		if !c.LastChange.IsZero() {
			since = c.LastChange.Local().Format("15:04:05")
		}
		if n := len(c.Log); n > 0 {
			r := c.Log[n-1]
			last = fmt.Sprintf("%s (%s)", r.End.Local().Format("15:04:05"), r.End.Sub(r.Start).Round(time.Millisecond))
			exit = fmt.Sprint(r.ExitCode)
			out = oneLine(r.Output, 80)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", c.Name, c.Kind, c.Level, c.Status, since, c.FailingStreak, last, exit, out)
	}
	tw.Flush()
}

// roughly rounds d for a person: milliseconds under a minute, else seconds.
func roughly(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}

func oneLine(s string, n int) string {
	s = printable(strings.Join(strings.Fields(s), " "), false)
	if len(s) > n {
		s = s[:n-1] + "…"
	}
	return s
}

// printable escapes what would drive a terminal rather than show on it: C0
// and C1 control characters, DEL and bytes that are not UTF-8 (a lone 0x9b is
// CSI to some terminals) print as \x1b, \u009b. A check's output is the
// application's (a response body, exec output), so it may not clear the
// screen or retitle the window of whoever runs hcinit check or status.
// keepLines keeps newlines and tabs.
func printable(s string, keepLines bool) string {
	clean := true
	for _, r := range s {
		if unprintable(r, keepLines) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r < 0x80 && unprintable(r, keepLines):
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case unprintable(r, keepLines):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func unprintable(r rune, keepLines bool) bool {
	switch {
	case keepLines && (r == '\n' || r == '\t'):
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r == utf8.RuneError:
		return true
	}
	return false
}
