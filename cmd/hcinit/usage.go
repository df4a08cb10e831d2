package main

import (
	"fmt"
	"io"
	"strings"
)

// printUsage writes `hcinit --help`. checkSyntax documents --check specs; it comes
// from the health package so the help cannot drift from the parser.
func printUsage(w io.Writer, checkSyntax string) {
	fmt.Fprint(w, usageHead())
	writeOptions(w)
	fmt.Fprint(w, `
Durations are Go durations (500ms, 1m30s) or plain seconds (10); --interval,
--timeout and --start-interval are at least 1ms, as Docker's.
Signals are names or numbers (TERM, SIGTERM, 15, RTMIN+1).

Drop-in for tini and dumb-init: -s -g -e -p -v -w -c -r and the variables
TINI_SUBREAPER, TINI_KILL_PROCESS_GROUP, TINI_VERBOSITY, DUMB_INIT_SETSID=0 are
accepted with their meaning there.

`)
	fmt.Fprint(w, configSyntax+"\n")
	fmt.Fprint(w, checkSyntax)
}

// usageHead is --help up to the options: the synopsis and what hcinit does.
func usageHead() string {
	return `hcinit — a PID-1 supervisor with health checks for unmodified applications

Usage:
  hcinit [OPTION...] [--] COMMAND [ARG...]   run COMMAND as a supervised child
  hcinit check [--live|--ready] [--json] [--timeout D] [--socket ADDR]
                                             ask the running hcinit: exit 0 healthy, 1 not
  hcinit [--socket ADDR] -healthcheck        the same as "hcinit check" (go-healthcheck v1.0.x:
                                             -healthcheck anywhere among hcinit's options)
  hcinit status [--json] [--timeout D] [--socket ADDR]
                                             the health state as a table
  hcinit version                             version, commit, Go version, build settings

hcinit starts COMMAND in its own process group with hcinit's stdin, stdout and
stderr, forwards signals to that group, reaps every zombie (as PID 1, or as child
subreaper otherwise), and exits with the child's status: its exit code, 128+N
when a signal N killed it, 127 when COMMAND is not found, 126 when it cannot be
executed. A stop trigger (TERM or INT; see --stop-triggers) turns readiness
false and sends the stop signal to the child; hcinit then waits for the whole
tree as long as the orchestrator lets it (docker stop -t, Kubernetes'
terminationGracePeriodSeconds), and exits as soon as no process is left. A
second stop trigger kills everything at once. Every other signal, QUIT
included, is only forwarded. hcinit kills on its own schedule only with
--stop-timeout, or after 10s when it stops the child itself (--on-unhealthy,
processes left by the child; a stop trigger then is the first, its grace rules).
Options stop at the first argument that is not an option (or at "--").

Options (each has an environment twin HCINIT_<NAME>, e.g. HCINIT_STOP_TIMEOUT=5s;
an explicit option wins, and repeatable ones given here replace the
environment's; repeatable options take ';'-separated values there):
`
}

// writeOptions writes --help's option list, from the table the parser uses.
func writeOptions(w io.Writer) {
	for _, o := range options() {
		left := "  "
		if o.short != 0 {
			left += fmt.Sprintf("-%c, ", o.short)
		} else {
			left += "    "
		}
		left += "--" + o.long
		if o.arg != "" {
			left += " " + o.arg
		}
		if len(left) < 30 {
			left += strings.Repeat(" ", 30-len(left))
		} else {
			left += "\n" + strings.Repeat(" ", 30)
		}
		fmt.Fprintf(w, "%s%s\n", left, o.help)
	}
}

// configSyntax documents --config for `hcinit --help`.
const configSyntax = `CONFIG FILE (--config FILE or HCINIT_CONFIG=FILE; YAML, and so JSON too; no
  anchors, tags, | or > blocks, or values continued on the next line):
  Keys are the long option names (interval: 5s, on-unhealthy: restart,
  rewrite: [USR1:TERM], map-exit: [143]), plus command (a list: the command
  when none follows the options) and checks (a list; each entry a one-line
  spec as --check takes, or a mapping of the same keys, where an exec check's
  command is a list and an http check takes kubelet's httpHeaders):
    http: ":8081"
    checks:
      - {type: http, url: "http://127.0.0.1:8080/healthz", level: ready,
         body: "ok, ready", httpHeaders: [{name: X-Probe, value: hcinit}]}
      - type: exec
        command: [/usr/bin/pg_isready, -q, -d, "dbname=app user=probe"]
      - grpc://127.0.0.1:50051/app,level=live
  One precedence rule: the command line beats the environment (HCINIT_*),
  which beats the file, which beats the defaults; a list (checks, rewrite,
  map-exit) is one setting, replaced whole by a higher source. An unknown key,
  a key given twice or a bad value is an error naming its line; FILE must be a
  regular file (a symbolic link to one, as a ConfigMap's, too). --print-config
  prints the effective configuration in this form (URL passwords and sensitive
  header values as ***) and exits.
`
