package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/duration"
	"github.com/wisdom-oss/go-healthcheck/internal/probe"
)

// DefaultClientTimeout bounds `hcinit check` and `hcinit status` as a whole.
// It is below Docker's default probe timeout (30s), so the client, not Docker,
// reports a hung wrapper; under kubelet (timeoutSeconds 1 by default) pass a
// shorter --timeout.
const DefaultClientTimeout = 5 * time.Second

// maxStatus bounds a status reply read by the client.
const maxStatus = 1 << 20

// CheckUsage documents `hcinit check`.
const CheckUsage = `Usage: hcinit check [--live|--ready] [--json] [--timeout D] [--socket ADDR]
       hcinit -healthcheck

Ask the running hcinit whether its child is healthy. Exit status 0 means healthy
(or live, or ready), 1 anything else, including "no hcinit answered"; never 2.
The first output line is the status ("healthy", or what is wrong); at most 4096
bytes are printed, as Docker keeps no more. The check never runs a probe itself:
hcinit answers from its state, so any number of clients cost one probe per
interval.

  --live         ask for liveness: fails only when a live-level check is unhealthy
  --ready        ask for readiness: every ready-level check passes, READY=1 was
                 sent (notify checks), and hcinit is not stopping
  --json         print the full state (each check, its last results, the failing
                 streak) as JSON, shortened to fit 4096 bytes
  --timeout D    give up after D (default 5s; Go duration or plain seconds)
  --socket ADDR  hcinit's socket, or a comma-separated list tried in order
                 (default $HCINIT_SOCKET, else /run/hcinit.sock, /tmp/hcinit.sock,
                 /dev/shm/hcinit.sock, @hcinit)
`

// StatusUsage documents `hcinit status`.
const StatusUsage = `Usage: hcinit status [--json] [--timeout D] [--socket ADDR]

Print the running hcinit's health state for a person: overall status, liveness,
readiness, the child's uptime and restarts (count, last exit code, reason and
time), what the child said over NOTIFY_SOCKET, and one line per check with the
time of its last state change and its latest result. Exit status 0 when
healthy, 1 otherwise.

  --json         print the full state as indented JSON instead
  --timeout D    give up after D (default 5s; Go duration or plain seconds)
  --socket ADDR  as for hcinit check
`

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
	f := clientFlags{timeout: DefaultClientTimeout}
	err := func() error {
		for i := 0; i < len(args); i++ {
			a := args[i]
			if subcmdHealthcheck(a) {
				continue
			}
			switch {
			case a == "--":
				if i+1 < len(args) {
					return fmt.Errorf("unexpected argument %q", args[i+1])
				}
				return nil
			case a == "-h":
				return errClientHelp
			case strings.HasPrefix(a, "--"):
				opt, val, hasVal := strings.Cut(a[2:], "=")
				takesValue := opt == "timeout" || opt == "socket"
				switch {
				case opt == "help" || opt == "json" || withLevels && (opt == "live" || opt == "ready"):
					if hasVal {
						return fmt.Errorf("option --%s takes no value", opt)
					}
				case takesValue:
					if !hasVal {
						if i+1 >= len(args) {
							return fmt.Errorf("option --%s needs a value", opt)
						}
						i++
						val = args[i]
					}
				default:
					return fmt.Errorf("unknown option --%s", opt)
				}
				switch opt {
				case "help":
					return errClientHelp
				case "json":
					f.json = true
				case "live":
					f.live = true
				case "ready":
					f.ready = true
				case "socket":
					f.socket = val
				case "timeout":
					d, err := duration.Parse(val)
					if err != nil {
						return fmt.Errorf("option --timeout: %w", err)
					}
					if d <= 0 {
						return fmt.Errorf("option --timeout: want a positive duration, have %q", val)
					}
					f.timeout = d
				}
			case len(a) > 1 && a[0] == '-':
				return fmt.Errorf("unknown option -%c", a[1])
			default:
				return fmt.Errorf("unexpected argument %q", a)
			}
		}
		if f.live && f.ready {
			return errors.New("--live and --ready exclude each other")
		}
		return nil
	}()
	switch {
	case err == errClientHelp:
		fmt.Fprint(stdout, usage)
	case err != nil:
		fmt.Fprintf(stderr, "hcinit %s: %v\nTry 'hcinit %s --help'.\n", name, err, name)
	}
	return f, err
}

// subcmdHealthcheck is go-healthcheck v1.0.x's flag, ignored among the
// client's options.
func subcmdHealthcheck(a string) bool { return a == "-healthcheck" || a == "--healthcheck" }

// CheckMain implements `hcinit check` (and `hcinit -healthcheck`; the word
// -healthcheck is ignored among args). It returns the exit status: 0 healthy,
// 1 anything else — a bad flag included, so a health check never reports
// Docker's reserved 2.
func CheckMain(args []string, stdout, stderr io.Writer) int {
	f, err := parseClientFlags("check", CheckUsage, args, stdout, stderr, true)
	if err == errClientHelp {
		return 0
	}
	if err != nil {
		return 1 // never Docker's reserved 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	addrs := socketAddrs(f.socket)

	if !f.json {
		word := wordPing
		if f.live {
			word = wordLive
		} else if f.ready {
			word = wordReady
		}
		reply, err := ask(ctx, addrs, word, common.BufferSize)
		if err != nil {
			reply = "unhealthy: " + err.Error()
		}
		writeCapped(stdout, reply+"\n")
		if reply == common.HealthcheckIPCResponse {
			return 0
		}
		return 1
	}

	st, err := fetchStatus(ctx, addrs)
	if err != nil {
		writeCapped(stdout, fmt.Sprintf(`{"status":"unhealthy","reason":%q}`+"\n", err.Error()))
		return 1
	}
	ok := st.Overall == StatusHealthy
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

// StatusMain implements `hcinit status`: the state as an aligned table (or
// --json). It returns 0 when healthy, else 1.
func StatusMain(args []string, stdout, stderr io.Writer) int {
	f, err := parseClientFlags("status", StatusUsage, args, stdout, stderr, false)
	if err == errClientHelp {
		return 0
	}
	if err != nil {
		return 1 // a client mode never exits 2 (Docker's reserved code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	st, err := fetchStatus(ctx, socketAddrs(f.socket))
	if err != nil {
		if f.json {
			// --json always prints JSON: scripts parse it whatever happened.
			b, _ := json.MarshalIndent(Status{Overall: StatusUnhealthy, Reason: err.Error(), Checks: []CheckStatus{}}, "", "  ")
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
	if st.Overall == StatusHealthy {
		return 0
	}
	return 1
}

func fetchStatus(ctx context.Context, addrs []string) (Status, error) {
	var st Status
	reply, err := ask(ctx, addrs, wordStatus, maxStatus)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(reply), &st); err != nil {
		return st, fmt.Errorf("decode status: %w (reply %.80q)", err, reply)
	}
	return st, nil
}

// ask sends word to the first address where this container's hcinit answers
// (see probe.VerifyPeer) and returns the reply
// (at most limit bytes, white space trimmed). It never forks and stops at
// ctx's deadline.
func ask(ctx context.Context, addrs []string, word string, limit int64) (string, error) {
	var errs []string
	for _, addr := range addrs {
		reply, err := exchange(ctx, addr, word, limit)
		// Closed without a word: under a flood the server may have evicted
		// this connection before reading it (package admit). Ask again, twice
		// at most, within the deadline.
		for try := 1; try <= 2 && errors.Is(err, errNoWord) && ctx.Err() == nil; try++ {
			select {
			case <-time.After(time.Duration(try) * 10 * time.Millisecond):
			case <-ctx.Done():
			}
			reply, err = exchange(ctx, addr, word, limit)
		}
		if err == nil {
			return reply, nil
		}
		errs = append(errs, err.Error())
		if ctx.Err() != nil {
			break
		}
	}
	return "", fmt.Errorf("no hcinit answered: %s", strings.Join(errs, "; "))
}

// errNoWord: the server closed (or reset) the connection without a reply.
var errNoWord = errors.New("closed without a reply")

func exchange(ctx context.Context, addr, word string, limit int64) (string, error) {
	conn, err := probe.Dial(ctx, addr) // retries a full backlog (EAGAIN)
	if err != nil {
		return "", fmt.Errorf("dial %s: %w", addr, errors.Unwrap(err))
	}
	defer conn.Close()
	// Only this container's hcinit may answer: an abstract socket is shared by
	// every container of a network namespace (a pod, --network container:X),
	// a file socket by whoever shares its directory. Vetted before a word is
	// sent, so a foreign server learns nothing.
	if err := probe.VerifyPeer(conn); err != nil {
		return "", fmt.Errorf("%s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// A server that refuses us may answer and close before our write lands:
	// its answer still counts, so a failed write is reported only when there
	// is nothing to read.
	_, werr := io.WriteString(conn, word)
	if werr == nil {
		conn.(*net.UnixConn).CloseWrite()
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(io.LimitReader(conn, limit))
	if werr != nil && buf.Len() == 0 {
		if errors.Is(werr, syscall.EPIPE) || errors.Is(werr, syscall.ECONNRESET) {
			werr = fmt.Errorf("%w (%w)", errNoWord, werr)
		}
		return "", fmt.Errorf("ask %s: %w", addr, werr)
	}
	if err != nil && buf.Len() == 0 && !errors.Is(err, syscall.ECONNRESET) {
		return "", fmt.Errorf("read reply from %s: %w", addr, err)
	}
	if buf.Len() == 0 {
		return "", fmt.Errorf("read reply from %s: %w", addr, errNoWord)
	}
	return string(bytes.TrimSpace(buf.Bytes())), nil
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
func fitJSON(st Status, limit int) []byte {
	enc := func(v any, indent bool) []byte {
		var b []byte
		if indent {
			b, _ = json.MarshalIndent(v, "", "  ")
		} else {
			b, _ = json.Marshal(v)
		}
		return append(b, '\n')
	}
	cut := func(s *string, n int) {
		if len(*s) > n {
			*s = (*s)[:n]
		}
	}
	b := enc(st, true)
	for len(b) > limit {
		dropped := false
		for i := range st.Checks {
			if n := len(st.Checks[i].Log); n > 1 {
				st.Checks[i].Log = st.Checks[i].Log[1:]
				dropped = true
			}
		}
		if !dropped {
			break
		}
		b = enc(st, true)
	}
	for keep := 1024; len(b) > limit && keep >= 16; keep /= 2 {
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
		b = enc(st, true)
	}
	if len(b) <= limit {
		return b
	}
	for i := range st.Checks {
		st.Checks[i].Log, st.Checks[i].Target = []Result{}, ""
	}
	if b = enc(st, true); len(b) <= limit {
		return b
	}
	// Very many checks: the verdict and each check's name and status.
	type brief struct {
		Name   string `json:"name"`
		Status State  `json:"status"`
	}
	short := struct {
		Overall       State   `json:"status"`
		Reason        string  `json:"reason,omitempty"`
		Live          bool    `json:"live"`
		Ready         bool    `json:"ready"`
		FailingStreak int     `json:"failing_streak"`
		ChildPID      int     `json:"child_pid"`
		Checks        []brief `json:"checks"`
	}{st.Overall, st.Reason, st.Live, st.Ready, st.FailingStreak, st.ChildPID, []brief{}}
	for _, c := range st.Checks {
		short.Checks = append(short.Checks, brief{c.Name, c.Status})
	}
	if b = enc(short, true); len(b) <= limit {
		return b
	}
	short.Reason = ""
	return enc(short, false)
}

// writeTable prints st for a person.
func writeTable(w io.Writer, st Status) {
	yes := map[bool]string{true: "yes", false: "no"}
	fmt.Fprintf(w, "status:  %s", st.Overall)
	if st.Reason != "" {
		fmt.Fprintf(w, " (%s)", oneLine(st.Reason, 100))
	}
	fmt.Fprintf(w, "\nlive:    %s", yes[st.Live])
	if st.LiveReason != "" {
		fmt.Fprintf(w, " (%s)", oneLine(st.LiveReason, 100))
	}
	fmt.Fprintf(w, "\nready:   %s", yes[st.Ready])
	if st.ReadyReason != "" {
		fmt.Fprintf(w, " (%s)", oneLine(st.ReadyReason, 100))
	}
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
	if n := st.Notify; n != nil && (n.Ready || n.Status != "" || !n.LastWatchdog.IsZero()) {
		fmt.Fprintf(w, "\nnotify:  ready=%s", yes[n.Ready])
		if n.Status != "" {
			fmt.Fprintf(w, " STATUS=%q", n.Status)
		}
		if !n.LastWatchdog.IsZero() {
			fmt.Fprintf(w, " last WATCHDOG=1 %s ago", time.Since(n.LastWatchdog).Round(time.Millisecond))
		}
	}
	fmt.Fprintf(w, "\nfailing streak: %d\n\n", st.FailingStreak)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tKIND\tLEVEL\tSTATUS\tSINCE\tSTREAK\tLAST RUN\tEXIT\tOUTPUT")
	for _, c := range st.Checks {
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
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n-1] + "…"
	}
	return s
}
