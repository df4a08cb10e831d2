package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// TestClientEscapesControlCharacters: what a check reports (a response body,
// exec output, the child's own error text) is the application's, and hostile
// or broken output must not drive the terminal of whoever runs `hcinit
// status` or `hcinit check` there (clear the screen, retitle the window, move
// the cursor over the verdict). Control characters print escaped, as \x1b;
// the old code wrote them raw.
func TestClientEscapesControlCharacters(t *testing.T) {
	evil := "db down \x1b[2J\x1b]0;pwned\x07 \x9b31m \xc2\x9b done"
	db := serveReply(t, evil)
	m, sock := startMonitor(t, "delegate,addr="+db+",name=db,interval=10ms,retries=1")
	m.ChildStarted(os.Getpid())
	deadline := time.Now().Add(5 * time.Second)
	for m.Status().Overall != health.StatusUnhealthy {
		if time.Now().After(deadline) {
			t.Fatalf("not unhealthy after 5s: %+v", m.Status())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, tc := range []struct {
		name string
		main func([]string, io.Writer, io.Writer) int
		args []string
	}{
		{"check", checkMain, nil},
		{"status", statusMain, nil},
	} {
		var out, errb bytes.Buffer
		tc.main(append(tc.args, "--socket", sock), &out, &errb)
		s := out.String()
		for _, bad := range []string{"\x1b", "\x07", "\x9b", "\u009b"} {
			if strings.Contains(s, bad) {
				t.Errorf("%s prints %q raw:\n%q", tc.name, bad, s)
			}
		}
		if !strings.Contains(s, `\x1b[2J`) {
			t.Errorf("%s: the escape is not shown escaped:\n%q", tc.name, s)
		}
	}
}

// TestCheckJSONWhenNoServer: with --json, "no hcinit answered" is valid JSON
// whatever the addresses hold (the old code quoted the error with Go's %q,
// whose \x01 JSON does not know).
func TestCheckJSONWhenNoServer(t *testing.T) {
	var out bytes.Buffer
	code := checkMain([]string{"--json", "--timeout", "1s", "--socket", "/nonexistent/a\x01\"b\xff.sock"}, &out, io.Discard)
	var st struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(out.Bytes(), &st); err != nil || code != 1 || st.Status != "unhealthy" ||
		!strings.Contains(st.Reason, "no hcinit answered") {
		t.Errorf("exit %d, %v: %q", code, err, out.String())
	}
}
