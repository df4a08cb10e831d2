package main

// Round 3 of the hostile-input audit: inputs that used to be taken silently
// or to hang hcinit before it started anything.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runBounded runs hcinit with args and extra environment to its end, at most
// d, and returns stdout, stderr and the exit status (-1: still running at d,
// then killed).
func runBounded(t *testing.T, d time.Duration, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out, errb strings.Builder
	c := exec.CommandContext(ctx, hcinitBin(), args...)
	c.Stdout, c.Stderr, c.Dir = &out, &errb, t.TempDir()
	c.Env = append(append(os.Environ(), ownSocket()), env...)
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return out.String(), errb.String(), -1
	case errors.As(err, &ee) && ee.Exited():
		return out.String(), errb.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("hcinit %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), 0
}

// TestExplicitSocketUnboundExits2: a health socket named with --socket or
// HCINIT_SOCKET that cannot be bound — a live server holds it, or its
// directory does not exist — stops hcinit before the child starts, exit 2,
// with one line naming the address and the reason, as a taken --http port
// does. Before, hcinit logged it and ran the child: `hcinit check`, told the
// same address, was answered by whoever held it (here: "healthy" from a
// process that is not hcinit), or by no one. Address lists are all or
// nothing: every address named must be bound.
func TestExplicitSocketUnboundExits2(t *testing.T) {
	t.Parallel()
	taken := fmt.Sprintf("@hcinit-test-%d-taken", os.Getpid())
	ln, err := net.Listen("unix", taken)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // the squatter: says "healthy" to whoever asks
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("healthy"))
			c.Close()
		}
	}()
	free := fmt.Sprintf("@hcinit-test-%d-free", os.Getpid())
	missing := filepath.Join(t.TempDir(), "no-such-dir", "hc.sock")
	child := []string{"--", "sh", "-c", "echo child started"}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"--socket held by a live server", nil, []string{"--socket", taken}, `health socket "` + taken + `" (--socket, HCINIT_SOCKET) cannot be bound: a live server answers there`},
		{"HCINIT_SOCKET held by a live server", []string{"HCINIT_SOCKET=" + taken}, nil, `health socket "` + taken + `"`},
		{"second of a list held", nil, []string{"--socket", free + "," + taken}, `health socket "` + taken + `"`},
		{"--socket in a missing directory", nil, []string{"--socket=" + missing}, `health socket "` + missing + `" (--socket, HCINIT_SOCKET) cannot be bound: listen unix ` + missing + `: bind: no such file or directory`},
		{"--socket of blanks", nil, []string{"--socket", " , "}, `option --socket: " , " names no socket`},
	} {
		out, errOut, code := runBounded(t, 20*time.Second, tc.env, append(tc.args, child...)...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != 2 || strings.Contains(out, "child started") || !strings.HasPrefix(lines[0], "hcinit: "+tc.want) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 before the child, stderr starting %q",
				tc.name, code, out, errOut, "hcinit: "+tc.want)
		}
		if strings.Contains(errOut, "goroutine ") {
			t.Errorf("%s: a Go stack on stderr", tc.name)
		}
	}
	// The free address of the refused list was released: hcinit can use it.
	if out, errOut, code := runBounded(t, 20*time.Second, nil, append([]string{"--socket", free}, child...)...); code != 0 || !strings.Contains(out, "child started") {
		t.Errorf("--socket %s after the refused run: exit %d, %q %q", free, code, out, errOut)
	}
}

// TestConfigFileNotRegular: --config naming a FIFO, a device, a directory or
// a symbolic-link loop is refused at once with exit 2 and the reason. Before,
// a FIFO nobody wrote to blocked hcinit in open(2) forever, before it started
// anything, and TERM did not end it (hcinit keeps a signal that arrives
// before the child for the child); /dev/zero read a megabyte first.
func TestConfigFileNotRegular(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(dir, "loop.yaml")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		fifo:        "config " + fifo + ": not a regular file (a FIFO)",
		"/dev/zero": "config /dev/zero: not a regular file (a device)",
		dir:         "config " + dir + ": not a regular file (a directory)",
		loop:        "config: open " + loop + ": too many levels of symbolic links",
	} {
		for _, how := range [][]string{{"--config", path}, {"HCINIT_CONFIG=" + path}} {
			var env, args []string
			if strings.HasPrefix(how[0], "--") {
				args = how
			} else {
				env = how
			}
			start := time.Now()
			out, errOut, code := runBounded(t, 15*time.Second, env, append(args, "--", "sh", "-c", "echo child started")...)
			if code != 2 || strings.Contains(out, "child started") || !strings.HasPrefix(errOut, "hcinit: "+want+"\n") {
				t.Errorf("%s: exit %d after %s, stdout %q, stderr %q; want exit 2 at once with %q",
					strings.Join(how, " "), code, time.Since(start).Round(time.Millisecond), out, errOut, want)
			}
		}
	}
	// A symbolic link to a regular file (a Kubernetes ConfigMap's) is read.
	file := filepath.Join(dir, "real.yaml")
	if err := os.WriteFile(file, []byte("interval: 3s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := runBounded(t, 15*time.Second, nil, "--config", link, "--print-config"); code != 0 || !strings.Contains(out, "interval: 3s") {
		t.Errorf("--config through a symbolic link: exit %d, %q %q", code, out, errOut)
	}
}

// TestUsageSynopsisMatchesSubcommands: --help's synopsis of `hcinit check`
// and `hcinit status` is their own usage line, every option included. Before,
// --help's status line lacked [--timeout D].
func TestUsageSynopsisMatchesSubcommands(t *testing.T) {
	var b strings.Builder
	printUsage(&b, "")
	for _, usage := range []string{checkUsage(), statusUsage()} {
		line, _, _ := strings.Cut(usage, "\n")
		synopsis := strings.TrimPrefix(line, "Usage: ")
		if !strings.Contains(b.String(), "\n  "+synopsis+"\n") {
			t.Errorf("hcinit --help lacks the synopsis %q", synopsis)
		}
	}
}

// TestCheckTimingBounds: the checks' timing options take what a check's own
// keys (interval=…) and Docker's HEALTHCHECK take: at least 1ms, and 0 only
// for the start period. Before, --interval 1ns was taken (checks back to back:
// hcinit used 2.3 s of CPU in 3 s) and --interval 0 silently meant 10s.
func TestCheckTimingBounds(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want string // "" = accepted
	}{
		{args: []string{"--interval", "1ns"}, want: "option --interval: 1ns is below the minimum of 1ms"},
		{args: []string{"--interval=0"}, want: `option --interval: want a positive duration, have "0"`},
		{args: []string{"--timeout", "0.0000001"}, want: "option --timeout: 100ns is below the minimum of 1ms"},
		{args: []string{"--start-interval", "999us"}, want: "option --start-interval: 999µs is below the minimum of 1ms"},
		{env: "HCINIT_INTERVAL=0s", want: `environment HCINIT_INTERVAL: want a positive duration, have "0s"`},
		{args: []string{"--start-period", "0"}},
		{args: []string{"--interval", "1ms", "--timeout", "1ms"}},
	} {
		getenv := func(k string) string {
			if name, val, _ := strings.Cut(tc.env, "="); k == name {
				return val
			}
			return ""
		}
		_, err := parseArgs(append(tc.args, "--", "true"), getenv)
		if have := fmt.Sprint(err); tc.want == "" && err != nil || tc.want != "" && have != tc.want {
			t.Errorf("%v %s: %v, want %q", tc.args, tc.env, err, tc.want)
		}
	}
}

// TestStartErrorOneLine: a start-up error is one line of bounded length,
// whatever the bad value holds. Before, --config naming a file with a newline
// printed the error over two lines and a 100 KB --interval a 100 KB line.
func TestStartErrorOneLine(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("a", 100_000)
	for _, args := range [][]string{
		{"--config", "a\nb"},
		{"--interval", huge},
		{"--check", "exec=/nonexistent/" + huge},
	} {
		_, errOut, code := runBounded(t, 15*time.Second, nil, append(args, "--", "true")...)
		lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
		if code != 2 || len(lines) != 2 || lines[1] != "Try 'hcinit --help'." || len(lines[0]) > 1100 {
			t.Errorf("%.40q: exit %d, %d lines, the first %d bytes: %.100q", args, code, len(lines), len(lines[0]), errOut)
		}
	}
}
