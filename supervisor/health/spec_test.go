package health

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseSpec(t *testing.T) {
	base := func(kind string) Spec {
		return Spec{Kind: kind, Level: LevelBoth, Interval: Unset, Timeout: Unset, StartPeriod: Unset,
			StartInterval: Unset, Retries: Unset, SuccessThreshold: Unset, MaxAge: Unset,
			StatusLow: 200, StatusHigh: 399}
	}
	with := func(kind string, f func(*Spec)) Spec {
		s := base(kind)
		f(&s)
		return s
	}
	tests := []struct {
		in   string
		want Spec
	}{
		{"process", base(KindProcess)},
		{"notify,level=ready", with(KindNotify, func(s *Spec) { s.Level = LevelReady })},
		{"http://127.0.0.1:8080/healthz", with(KindHTTP, func(s *Spec) { s.URL = "http://127.0.0.1:8080/healthz" })},
		{"https://h:8443/x,insecure=true,status=200-204,body=ok",
			with(KindHTTPS, func(s *Spec) {
				s.URL, s.Insecure, s.StatusLow, s.StatusHigh, s.Body = "https://h:8443/x", true, 200, 204, "ok"
			})},
		{"http://h/x?a=1,b=2,timeout=2s", with(KindHTTP, func(s *Spec) { s.URL, s.Timeout = "http://h/x?a=1,b=2", 2*time.Second })},
		{"tcp://127.0.0.1:5432", with(KindTCP, func(s *Spec) { s.Addr = "127.0.0.1:5432" })},
		{"type=tcp,addr=:5432,level=ready,interval=2s",
			with(KindTCP, func(s *Spec) { s.Addr, s.Level, s.Interval = ":5432", LevelReady, 2*time.Second })},
		{"exec=/usr/bin/pg_isready -q,name=pg,retries=5",
			with(KindExec, func(s *Spec) { s.Argv, s.Name, s.Retries = []string{"/usr/bin/pg_isready", "-q"}, "pg", 5 })},
		{"exec=/bin/sh -c,arg=exit 3", with(KindExec, func(s *Spec) { s.Argv = []string{"/bin/sh", "-c", "exit 3"} })},
		{"type=exec,arg=/bin/true", with(KindExec, func(s *Spec) { s.Argv = []string{"/bin/true"} })},
		{"file=/tmp/alive,max-age=30s", with(KindFile, func(s *Spec) { s.Path, s.MaxAge = "/tmp/alive", 30*time.Second })},
		{"file=/tmp/ready,max-age=0", with(KindFile, func(s *Spec) { s.Path, s.MaxAge = "/tmp/ready", 0 })},
		{"signal=USR1", with(KindSignal, func(s *Spec) { s.Signal, s.Heartbeat = unix.SIGUSR1, "notify" })},
		{"signal=SIGHUP,heartbeat=/tmp/hb,timeout=1",
			with(KindSignal, func(s *Spec) { s.Signal, s.Heartbeat, s.Timeout = unix.SIGHUP, "/tmp/hb", time.Second })},
		{"delegate", base(KindDelegate)},
		{"delegate=/tmp/x.sock", with(KindDelegate, func(s *Spec) { s.Addr = "/tmp/x.sock" })},
		{"process,start-period=30s,start-interval=1s,success-threshold=2",
			with(KindProcess, func(s *Spec) { s.StartPeriod, s.StartInterval, s.SuccessThreshold = 30*time.Second, time.Second, 2 })},
	}
	for _, tt := range tests {
		have, err := ParseSpec(tt.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(have, tt.want) {
			t.Errorf("ParseSpec(%q)\nhave %+v\nwant %+v", tt.in, have, tt.want)
		}
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty spec"},
		{"bogus", `unknown kind "bogus"`},
		{"type=tcp", "addr: want HOST:PORT"},
		{"tcp://nohost", "addr: want HOST:PORT"},
		{"process,interval=fast", `interval: want a duration such as 10s or 500ms, have "fast"`},
		{"process,interval=0", "interval: want a positive duration"},
		{"process,retries=0", "retries: want a whole number"},
		{"process,level=sometimes", `level: want live, ready or both, have "sometimes"`},
		{"process,color=blue", `unknown key "color"`},
		{"process,addr=:1", `key "addr" does not apply to a process check`},
		{"http://h/x,status=999", "status: want a code like 200"},
		{"http://h/x,status=300-200", "status: want a code like 200"},
		{"type=http,url=https://h/", "a http check needs a http:// URL"},
		{"type=http", "url: want an absolute URL"},
		{"https://h/,insecure=maybe", "insecure: want true or false"},
		{"type=exec", "command: missing"},
		{"type=file", "path: missing"},
		{"signal=FOO", `signal: want a signal name or number like USR1, have "FOO"`},
		{"type=signal", "signal: missing"},
		{"process,name=a b", "name:"},
		{"type=tcp,type=http", "type given twice"},
		{"name=x", "no kind"},
		// A port no connection can reach is refused up front, as --http's is
		// (kubelet's probe ports are validated as 1-65535), not failed at run time.
		{"tcp://:99999", "port: want 1-65535"},
		{"tcp://127.0.0.1:0", "port: want 1-65535"},
		{"tcp://127.0.0.1:", "port: want 1-65535"},
		{"type=tcp,addr=127.0.0.1:-1", "port: want 1-65535"},
		{"grpc://127.0.0.1:70000", "port: want 1-65535"},
		{"http://127.0.0.1:99999/", "port: want 1-65535"},
		{"https://h:0/", "port: want 1-65535"},
		// A key given twice is a mistake whichever value was meant: the old
		// code kept the last silently.
		{"tcp://127.0.0.1:1,addr=127.0.0.1:2", "addr given twice"},
		{"process,retries=2,retries=3", "retries given twice"},
		{"grpc://h:1/svc,service=other", "service given twice"},
		{"http://h/,url=http://h2/", "url given twice"},
		// Kubernetes refuses a liveness probe's successThreshold other than 1;
		// hcinit reads it for readiness only, so on a live check it could
		// never take effect.
		{"process,level=live,success-threshold=3", "success-threshold: must be 1 for a check of level live"},
		// KILL and STOP cannot be caught: the check could only end or freeze
		// the child (it sends only to a child that catches the signal).
		{"signal=KILL", "signal: SIGKILL cannot be caught"},
		{"signal=STOP,heartbeat=/tmp/hb", "signal: SIGSTOP cannot be caught"},
	}
	for _, in := range []string{"grpc://h:1,service=x", "grpc://h:1/,service=x", "tcp://h:http", "exec=/bin/x,arg=a,arg=b", "http://h/", "process,level=live,success-threshold=1", "http://h:/x", "http://[::1]/", "process,level=both,success-threshold=3"} {
		if _, err := ParseSpec(in); err != nil {
			t.Errorf("ParseSpec(%q): %v, want it accepted", in, err)
		}
	}
	for _, tt := range tests {
		_, err := ParseSpec(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseSpec(%q) error = %v, want it to contain %q", tt.in, err, tt.want)
		}
	}
}

func TestNewRejectsBadSpecsAndNames(t *testing.T) {
	for _, specs := range [][]string{
		{"process", "bogus"},
		{"process,name=a", "tcp://:1,name=a"},
		{"exec=/bin/true"}, // no reaper
	} {
		if _, err := New(Config{Specs: specs, Socket: "@hcinit-test-unused", RuntimeDir: t.TempDir()}); err == nil {
			t.Errorf("New(%q) succeeded", specs)
		}
	}
}

func TestDefaultNames(t *testing.T) {
	m := &Monitor{cfg: Config{Specs: []string{"process", "tcp://:1", "tcp://:2", "tcp://:3,name=tcp-2"}}}
	specs, err := m.parseSpecs()
	if err != nil {
		t.Fatal(err)
	}
	var have []string
	for _, s := range specs {
		have = append(have, s.Name)
	}
	want := []string{"process", "tcp", "tcp-3", "tcp-2"}
	if !reflect.DeepEqual(have, want) {
		t.Errorf("names = %q, want %q", have, want)
	}
}

// TestParseSpecDurations: check durations parse like hcinit's flags (plain
// seconds included); infinite, NaN, overflowing, negative and sub-millisecond
// ones are errors.
func TestParseSpecDurations(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration // of the interval; 0: an error
	}{
		{"process,interval=0.2", 200 * time.Millisecond},
		{"process,interval=2", 2 * time.Second},
		{"process,interval=1ms", time.Millisecond},
		{"process,interval=inf", 0},
		{"process,interval=NaN", 0},
		{"process,interval=1e300", 0},
		{"process,interval=-1", 0},
		{"process,interval=-1s", 0},
		{"process,interval=500us", 0},
		{"process,interval=0.0001", 0},
	} {
		sp, err := ParseSpec(tc.in)
		switch {
		case tc.want == 0 && err == nil:
			t.Errorf("ParseSpec(%q): interval %s, want an error", tc.in, sp.Interval)
		case tc.want != 0 && err != nil:
			t.Errorf("ParseSpec(%q): %v", tc.in, err)
		case tc.want != 0 && sp.Interval != tc.want:
			t.Errorf("ParseSpec(%q): have interval %s, want %s", tc.in, sp.Interval, tc.want)
		}
	}
	if _, err := ParseSpec("process,timeout=0.0005"); err == nil || !strings.Contains(err.Error(), "below the minimum") {
		t.Errorf("timeout=0.0005: have %v, want an error about the minimum", err)
	}
}

// TestSpecQuoting: exec= takes shell quoting or a JSON argv; a quoted value
// may hold commas and ",name=".
func TestSpecQuoting(t *testing.T) {
	for _, tt := range []struct {
		spec string
		argv []string
		url  string
		name string
	}{
		{spec: `exec=/bin/sh -c 'test -f /ready'`, argv: []string{"/bin/sh", "-c", "test -f /ready"}},
		{spec: `exec=/bin/sh -c "test -f /a,b && echo \"x\"",name=q`, argv: []string{"/bin/sh", "-c", `test -f /a,b && echo "x"`}, name: "q"},
		{spec: `exec=["/bin/sh","-c","test -f /ready, really"],name=j`, argv: []string{"/bin/sh", "-c", "test -f /ready, really"}, name: "j"},
		{spec: `exec=/bin/echo a\ b,name=e`, argv: []string{"/bin/echo", "a b"}, name: "e"},
		{spec: `exec=/usr/bin/pg_isready -q,name=pg,retries=5`, argv: []string{"/usr/bin/pg_isready", "-q"}, name: "pg"},
		{spec: `"http://127.0.0.1:8080/h?a=1,name=2",name=web`, url: "http://127.0.0.1:8080/h?a=1,name=2", name: "web"},
		{spec: `type=http,url='http://127.0.0.1:8080/h?x=,name=y',name=w2`, url: "http://127.0.0.1:8080/h?x=,name=y", name: "w2"},
	} {
		sp, err := ParseSpec(tt.spec)
		if err != nil {
			t.Errorf("%s: %v", tt.spec, err)
			continue
		}
		if tt.argv != nil && !slices.Equal(sp.Argv, tt.argv) {
			t.Errorf("%s: argv %q, want %q", tt.spec, sp.Argv, tt.argv)
		}
		if sp.URL != tt.url || sp.Name != tt.name {
			t.Errorf("%s: url %q name %q, want %q %q", tt.spec, sp.URL, sp.Name, tt.url, tt.name)
		}
	}
	for _, bad := range []string{`exec=/bin/sh -c 'unterminated`, `exec=["/bin/sh",`} {
		if _, err := ParseSpec(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// Every key a spec accepts is applied by a setter, and no setter is for a key
// no kind accepts.
func TestEveryKeyHasASetter(t *testing.T) {
	keys := map[string]bool{}
	for _, k := range commonKeys {
		keys[k] = true
	}
	for _, ks := range kindKeys {
		for _, k := range ks {
			keys[k] = true
		}
	}
	for k := range keys {
		if setters[k] == nil && k != "type" {
			t.Errorf("key %q has no setter", k)
		}
	}
	for k := range setters {
		if !keys[k] {
			t.Errorf("setter for %q, which no kind accepts", k)
		}
	}
}
