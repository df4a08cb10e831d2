package health

// Fuzz targets for every parser hcinit runs on input it does not control:
// check specs (command line), HTTP requests (the --http endpoint), HTTP
// responses (http checks: internal/httpwire), health socket requests, name files and notify
// messages. Seeds are below and in testdata/fuzz; CI runs each briefly
// (make fuzz).

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/httpwire"
)

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"process", "http://127.0.0.1:8080/healthz,level=live,timeout=2s",
		"type=tcp,addr=:5432,level=ready,interval=2s", "exec=/usr/bin/pg_isready -q,name=pg,retries=5",
		"file=/tmp/alive,max-age=30s", "signal=USR1,heartbeat=/tmp/alive", "delegate", "grpc://127.0.0.1:9090/svc",
		"http://user:pw@h/,body=a,b", "type=", ",,,", "url=http://[::1", "exec=", "retries=-1,process"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := ParseSpec(s)
		if err != nil {
			// A password in the spec never reaches the error message.
			if u := userinfo().FindStringSubmatch(s); u != nil && strings.Contains(err.Error(), u[0]) && strings.Contains(u[0], ":") && !strings.HasSuffix(u[0], ":***@") {
				t.Fatalf("error shows %q: %v", u[0], err)
			}
			return
		}
		if sp.Kind == "" {
			t.Fatalf("%q parsed without a kind", s)
		}
	})
}

func FuzzRedactURLs(f *testing.F) {
	for _, s := range []string{"http://u:p@h/", "curl -u x https://a:b@c:1/d?e=f@g", "x://:@", "http://u:p@ss@h/x", "no url"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := redactURLs(s)
		if again := redactURLs(r); again != r {
			t.Fatalf("not idempotent: %q → %q → %q", s, r, again)
		}
		for _, m := range userinfo().FindAllStringSubmatch(r, -1) {
			if !strings.HasSuffix(m[0], ":***@") {
				t.Fatalf("%q → %q still has %q", s, r, m[0])
			}
		}
		if want := userinfo().ReplaceAllString(s, "${1}${2}:***@"); r != want {
			t.Fatalf("%q → %q, the expression gives %q", s, r, want)
		}
	})
}

func FuzzHTTPRequest(f *testing.F) {
	for _, s := range []string{"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD /status HTTP/1.0\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "GET /a/../livez?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET / HTTP/2.0\r\n\r\n", "POST /readyz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "GET /x HTTP/1.1\n Host: x\n\n"} {
		f.Add([]byte(s))
	}
	m := &Monitor{}
	s := m.httpServer()
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := httpwire.ReadRequest(bytes.NewReader(data), maxRequestHeader)
		if err != nil {
			return
		}
		resp := s.respond(req).bytes(req)
		if !bytes.HasPrefix(resp, []byte("HTTP/1.")) || !bytes.Contains(resp, []byte("\r\n\r\n")) {
			t.Fatalf("response to %q: %q", data, resp)
		}
	})
}

func FuzzSocketRequest(f *testing.F) {
	for _, s := range []string{"ping", "pi", "status\n", "live", "ready ", "", "pingping", strings.Repeat("p", 5000)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, _ := common.ReadRequest(bytes.NewReader(data), words...)
		if len(req) > common.BufferSize {
			t.Fatalf("request of %d bytes", len(req))
		}
	})
}

func FuzzNameFile(f *testing.F) {
	for _, s := range []string{"Im7ADLrrFPUHFVQg", "name\n", "hcinit-1", "../x", strings.Repeat("z", 65), "\x00"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, common.HealthcheckSocketNameFile)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		name, err := readNameFile(path, -1, "")
		if err != nil {
			return
		}
		if err := common.ValidateName(name); err != nil {
			t.Fatalf("%q read as %q: %v", data, name, err)
		}
	})
}

func FuzzNotifyMessage(f *testing.F) {
	for _, s := range []string{"READY=1", "STATUS=starting\nREADY=1", "WATCHDOG=1", "WATCHDOG=trigger",
		"WATCHDOG_USEC=-5", "WATCHDOG_USEC=99999999999999999999", "RELOADING=1\nSTOPPING=1", "=\n=\n", "MAINPID=1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n := &notifier{d: notifyDeps{ctx: context.Background(), log: logrus.NewEntry(logrus.New()),
			allowed: func(int) bool { return true }, pid: func() int { return 0 },
			kick: func() {}, fired: func() {}, mainPID: func(int) {}}, change: make(chan struct{})}
		n.handle(data, time.Now())
		if n.watchdog < 0 {
			t.Fatalf("%q set a negative watchdog %s", data, n.watchdog)
		}
		n.snapshot()
		n.probe(time.Now())
	})
}
