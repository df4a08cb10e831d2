package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// startMonitor runs a health.Monitor's checks and wrapper socket in this
// process, as run() does, until the test ends, and returns its socket.
func startMonitor(t *testing.T, specs ...string) (*health.Monitor, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "hcc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	log := logrus.New()
	log.SetOutput(io.Discard)
	sock := filepath.Join(dir, "hc.sock")
	m, err := health.New(health.Config{Specs: specs, Socket: sock, RuntimeDir: filepath.Join(dir, "run"), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	run := func(f func() error) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	run(m.RunChecks)
	for _, ln := range m.Sockets() {
		run(func() error { return m.ServeSocket(ln) })
	}
	t.Cleanup(func() { m.Interrupt(nil); wg.Wait(); m.Close() })
	return m, sock
}

// serveReply answers every connection on a new unix socket with reply, as a
// go-healthcheck v1.0.x server answers "ping"; it returns the socket's path.
func serveReply(t *testing.T, reply string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hcr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, "v1.sock"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			conn.Read(make([]byte, common.BufferSize))
			io.WriteString(conn, reply)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// TestCheckMainAndStatusMain: hcinit check and status against a running
// health side with a healthy live check and a failing ready check whose
// output is longer than Docker keeps.
func TestCheckMainAndStatusMain(t *testing.T) {
	db := serveReply(t, strings.Repeat("connection refused ", 400))
	m, sock := startMonitor(t, "process,interval=10ms", "delegate,addr="+db+",name=db,level=ready,interval=10ms,retries=1")
	m.ChildStarted(os.Getpid())
	deadline := time.Now().Add(5 * time.Second)
	// Both checks must have a result: a check without one is named first in
	// a reason ("check process: no result yet"), and on a loaded machine the
	// process check's first run can come after db's third.
	settled := func(st health.Status) bool {
		for _, c := range st.Checks {
			if c.Runs == 0 {
				return false
			}
		}
		return st.Overall == health.StatusUnhealthy
	}
	for !settled(m.Status()) {
		if time.Now().After(deadline) {
			t.Fatalf("not unhealthy after 5s: %+v", m.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	run := func(main func([]string, io.Writer, io.Writer) int, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := main(append(args, "--socket", sock), &out, &errb)
		return code, out.String(), errb.String()
	}
	tests := []struct {
		args     []string
		code     int
		wantHead string
	}{
		{nil, 1, "unhealthy: check db: connection refused"},
		{[]string{"-healthcheck"}, 1, "unhealthy: check db:"},
		{[]string{"--live"}, 0, "healthy"},
		{[]string{"--ready"}, 1, "not ready: check db:"},
		{[]string{"--json"}, 1, "{\n  \"status\": \"unhealthy\""},
		{[]string{"--json", "--live"}, 0, "{\n  \"status\": \"unhealthy\""},
	}
	for _, tt := range tests {
		code, out, _ := run(checkMain, tt.args...)
		if code != tt.code || !strings.HasPrefix(out, tt.wantHead) || len(out) > common.BufferSize {
			t.Errorf("check %q: exit %d, %d bytes %.60q; want exit %d, ≤4096 bytes starting %q", tt.args, code, len(out), out, tt.code, tt.wantHead)
		}
		if strings.Contains(strings.Join(tt.args, " "), "json") {
			var st health.Status
			if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Checks) != 2 {
				t.Errorf("check %q: not the full state as JSON: %v", tt.args, err)
			}
		}
	}
	code, out, _ := run(statusMain)
	if code != 1 || !strings.Contains(out, "status:  unhealthy") || !strings.Contains(out, "CHECK") ||
		!strings.Contains(out, "db       delegate  ready  unhealthy") {
		t.Errorf("status: %d\n%s", code, out)
	}
	if code, out, _ := run(statusMain, "--json"); code != 1 || !strings.Contains(out, `"name": "db"`) {
		t.Errorf("status --json: %d %.100q", code, out)
	}

	// Usage errors exit 1, never 2; nothing listening exits 1.
	for _, args := range [][]string{{"--bogus"}, {"--live", "--ready"}, {"--timeout", "-1s"}, {"extra"}} {
		code, _, errs := run(checkMain, args...)
		if code != 1 || !strings.Contains(errs, "Try 'hcinit check --help'.") {
			t.Errorf("check %q: exit %d, stderr %.80q", args, code, errs)
		}
	}
	var out2 bytes.Buffer
	began := time.Now()
	if code := checkMain([]string{"--socket", "/nonexistent/hc.sock,@hcinit-test-nobody", "--timeout", "1s"}, &out2, io.Discard); code != 1 ||
		!strings.HasPrefix(out2.String(), "unhealthy: no hcinit answered: dial /nonexistent/hc.sock") {
		t.Errorf("no server: %d %q", code, out2.String())
	}
	if time.Since(began) > 2*time.Second {
		t.Errorf("no server took %s", time.Since(began))
	}
	t.Setenv(envSocket, sock)
	var out3 bytes.Buffer
	if code := checkMain([]string{"--live"}, &out3, io.Discard); code != 0 {
		t.Errorf("via $HCINIT_SOCKET: %d %q", code, out3.String())
	}
}

// TestClientFlagErrors: every usage error of the client modes is reported in
// the main command's words and exits 1, never 2.
func TestClientFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--json=1"}, "hcinit check: option --json takes no value"},
		{[]string{"status", "--live"}, "hcinit status: unknown option --live"},
		{[]string{"status", "--ready=1"}, "hcinit status: unknown option --ready"},
		{[]string{"check", "--timeout"}, "hcinit check: option --timeout needs a value"},
		{[]string{"check", "--socket"}, "hcinit check: option --socket needs a value"},
		{[]string{"check", "-x"}, "hcinit check: unknown option -x"},
		{[]string{"check", "--", "extra"}, `hcinit check: unexpected argument "extra"`},
		{[]string{"check", "--timeout", "0"}, `hcinit check: option --timeout: want a positive duration, have "0"`},
		{[]string{"check", "--help=1"}, "hcinit check: option --help takes no value"},
		{[]string{"-healthcheck", "--bogus"}, "hcinit check: unknown option --bogus"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		first, _, _ := strings.Cut(errb.String(), "\n")
		if code != 1 || first != tc.want || out.Len() != 0 {
			t.Errorf("%q: exit %d, stderr %q, stdout %q; want exit 1, %q", tc.args, code, errb.String(), out.String(), tc.want)
		}
	}
}
