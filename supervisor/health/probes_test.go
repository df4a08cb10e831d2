package health

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/internal/proc"
)

// bare returns a Monitor that can build and run probes without New's sockets.
func bare(t *testing.T, cfg Config) *Monitor {
	cfg.Interval, cfg.Timeout, cfg.StartInterval, cfg.Retries, cfg.SuccessThreshold = time.Second, 2*time.Second, time.Second, 3, 1
	if cfg.Log == nil {
		cfg.Log = testLogger(t)
	}
	m := &Monitor{cfg: cfg, log: cfg.Log.WithField("component", "health")}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	t.Cleanup(m.cancel)
	return m
}

// setChild makes pid the running child the probes look at.
func setChild(m *Monitor, pid int) {
	m.mu.Lock()
	m.child.pid, m.child.active = pid, true
	m.mu.Unlock()
}

func probeOnce(t *testing.T, m *Monitor, spec string) outcome {
	t.Helper()
	sp, err := ParseSpec(spec)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.newCheck(sp)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.spec.Timeout)
	defer cancel()
	return c.checker.Check(ctx)
}

func wantPass(t *testing.T, o outcome, contains string) {
	t.Helper()
	if o.code != 0 || !strings.Contains(o.output, contains) {
		t.Errorf("have code %d output %q, want a pass mentioning %q", o.code, o.output, contains)
	}
}

func wantFail(t *testing.T, o outcome, contains string) {
	t.Helper()
	if o.code == 0 || !strings.Contains(o.output, contains) {
		t.Errorf("have code %d output %q, want a failure mentioning %q", o.code, o.output, contains)
	}
}

func TestProcessProbe(t *testing.T) {
	m := bare(t, Config{})
	wantFail(t, probeOnce(t, m, "process"), "no child process")

	setChild(m, os.Getpid())
	wantPass(t, probeOnce(t, m, "process"), "is running")

	// A zombie: a child that exited and was not waited for yet.
	zombie := exec.Command("/bin/true")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	pid := zombie.Process.Pid
	setChild(m, pid)
	waitFor(t, "zombie", 3*time.Second, func() bool { p, _ := proc.Stat(pid); return p.State == 'Z' })
	wantFail(t, probeOnce(t, m, "process"), "zombie")
	zombie.Wait()
	wantFail(t, probeOnce(t, m, "process"), "no such process")

	stopped := exec.Command("/bin/sleep", "10")
	if err := stopped.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stopped.Process.Kill(); stopped.Wait() }()
	pid = stopped.Process.Pid
	setChild(m, pid)
	stopped.Process.Signal(os.Signal(sigstop))
	waitFor(t, "stopped", 3*time.Second, func() bool { p, _ := proc.Stat(pid); return p.State == 'T' })
	wantFail(t, probeOnce(t, m, "process"), "stopped")
}

func TestTCPProbe(t *testing.T) {
	m := bare(t, Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	wantPass(t, probeOnce(t, m, "tcp://"+addr), "connected to "+addr)
	ln.Close()
	wantFail(t, probeOnce(t, m, "type=tcp,addr="+addr), "connection refused")
}

func TestHTTPProbe(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "all good") })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, "database down")
	})
	mux.HandleFunc("/created", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })
	mux.HandleFunc("/redirect-same", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/fail", 302) })
	mux.HandleFunc("/redirect-other", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.1/unreachable", 302)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	m := bare(t, Config{})
	u := srv.URL
	wantPass(t, probeOnce(t, m, u+"/ok"), "HTTP 200")
	wantFail(t, probeOnce(t, m, u+"/fail"), "HTTP 500 (want 200-399): database down")
	wantPass(t, probeOnce(t, m, u+"/created"), "HTTP 201")
	wantFail(t, probeOnce(t, m, u+"/created,status=200"), "HTTP 201 (want 200-200)")
	wantPass(t, probeOnce(t, m, u+"/ok,body=good"), "HTTP 200")
	wantFail(t, probeOnce(t, m, u+"/ok,body=great"), `body lacks "great"`)
	wantFail(t, probeOnce(t, m, u+"/redirect-same"), "HTTP 500")  // followed: same host
	wantPass(t, probeOnce(t, m, u+"/redirect-other"), "HTTP 302") // not followed
	wantFail(t, probeOnce(t, m, u+"/slow,timeout=100ms"), "deadline exceeded")

	tsrv := httptest.NewTLSServer(mux)
	defer tsrv.Close()
	wantFail(t, probeOnce(t, m, tsrv.URL+"/ok"), "certificate")
	wantPass(t, probeOnce(t, m, tsrv.URL+"/ok,insecure=true"), "HTTP 200")
}

func TestFileProbe(t *testing.T) {
	m := bare(t, Config{})
	path := filepath.Join(t.TempDir(), "alive")
	wantFail(t, probeOnce(t, m, "file="+path), "no such file")
	os.WriteFile(path, nil, 0o644)
	wantPass(t, probeOnce(t, m, "file="+path+",max-age=10s"), "modified")
	old := time.Now().Add(-time.Minute)
	os.Chtimes(path, old, old)
	wantFail(t, probeOnce(t, m, "file="+path+",max-age=10s"), "max-age 10s")
	wantPass(t, probeOnce(t, m, "file="+path+",max-age=0"), "exists")
	// Default max-age: 2 × interval (1s here).
	wantFail(t, probeOnce(t, m, "file="+path), "max-age 2s")
}

func TestSignalProbeWithHeartbeatFile(t *testing.T) {
	hb := filepath.Join(t.TempDir(), "hb")
	// The "child" is a shell that touches hb on USR1. hb exists first: touch
	// creating it changes its mtime twice (create, then utimensat), and the
	// second change, after a probe passed on the first, would pass the next
	// probe early and the WINCH one (seen once in land.sh).
	child := exec.Command("/bin/sh", "-c", `touch `+hb+`; trap 'touch `+hb+`' USR1; touch `+hb+`.up; while :; do sleep 0.05; done`)
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	waitFor(t, "shell ready", 3*time.Second, func() bool { _, err := os.Stat(hb + ".up"); return err == nil })
	m := bare(t, Config{})
	setChild(m, child.Process.Pid)
	wantPass(t, probeOnce(t, m, "signal=USR1,heartbeat="+hb), "touched after SIGUSR1")
	wantPass(t, probeOnce(t, m, "signal=USR1,heartbeat="+hb), "touched after SIGUSR1")
	// The shell does not trap WINCH: no heartbeat.
	wantFail(t, probeOnce(t, m, "signal=WINCH,heartbeat="+hb+",timeout=200ms"), "not touched after SIGWINCH")
}

func TestExecProbeOutputCap(t *testing.T) {
	r := startReaper(t)
	m := bare(t, Config{Reaper: r})
	wantPass(t, probeOnce(t, m, "exec=/bin/sh -c,arg=echo fine"), "fine")
	o := probeOnce(t, m, "exec=/bin/sh -c,arg=echo broken >&2; exit 3")
	if o.code != 3 || o.output != "broken" {
		t.Errorf("have %d %q, want 3 \"broken\"", o.code, o.output)
	}
	o = probeOnce(t, m, "exec=/bin/sh -c,arg=head -c 100000 /dev/zero | tr '\\0' x; exit 1")
	if o.code != 1 || len(o.output) != maxOutput || strings.Trim(o.output, "x") != "" {
		t.Errorf("have %d and %d bytes, want 1 and %d bytes of x", o.code, len(o.output), maxOutput)
	}
	// What can never run is refused when the check is built (at start-up).
	for _, spec := range []string{"exec=no-such-probe-anywhere", "exec=" + t.TempDir()} {
		sp, err := ParseSpec(spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.newCheck(sp); err == nil {
			t.Errorf("%s: accepted", spec)
		}
	}
	// A probe that vanishes later: 127, as a shell says.
	gone := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(gone, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sp, _ := ParseSpec("exec=" + gone)
	c, err := m.newCheck(sp)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(gone)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if o := c.checker.Check(ctx); o.code != 127 {
		t.Errorf("vanished command: code %d %q, want 127", o.code, o.output)
	}
	wantPass(t, probeOnce(t, m, "exec=true"), "") // found in PATH
}

func TestExecRunsAsChildUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to switch users")
	}
	r := startReaper(t)
	m := bare(t, Config{Reaper: r, Dir: "/", Cred: &syscall.Credential{Uid: 65534, Gid: 65534}})
	o := probeOnce(t, m, "exec=/bin/sh -c,arg=echo $(id -u):$(id -g)")
	if o.code != 0 || o.output != "65534:65534" {
		t.Errorf("have %d %q, want 0 \"65534:65534\"", o.code, o.output)
	}
}

// TestExecTimeoutLeavesNothing: a probe that spawns sleeping grandchildren and
// times out leaves neither a process nor a zombie, 50 times over.
func TestExecTimeoutLeavesNothing(t *testing.T) {
	r := startReaper(t)
	m := bare(t, Config{Reaper: r})
	marker := "hc-test-" + strconv.Itoa(os.Getpid())
	spec := fmt.Sprintf("exec=/bin/sh -c,arg=sleep 30 & sleep 31 & exec -a %s sleep 32,timeout=50ms", marker)
	for i := 0; i < 50; i++ {
		o := probeOnce(t, m, spec)
		if o.code == 0 {
			t.Fatalf("run %d passed, want a timeout", i)
		}
	}
	waitFor(t, "no children left", 5*time.Second, func() bool { return len(children(t)) == 0 })
}

// children lists the test process's children (zombies included).
func children(t *testing.T) []string {
	var out []string
	for _, p := range proc.All() {
		if p.PPID == os.Getpid() {
			out = append(out, fmt.Sprintf("%d (%s) %c", p.PID, p.Comm, p.State))
		}
	}
	return out
}

// TestExecDaemonLeftoversKilled: a probe whose command daemonises (setsid, a
// double fork: out of the probe's process group and session) leaves nothing
// once its run ends.
func TestExecDaemonLeftoversKilled(t *testing.T) {
	r := startReaper(t)
	m := bare(t, Config{Reaper: r})
	marker := "hc-daemon-" + strconv.Itoa(os.Getpid())
	// Whatever the outcome, nothing may outlive the test: a leftover keeps
	// the descriptors this process inherited (land.sh's lock among them).
	t.Cleanup(func() {
		for _, p := range leftoverProcs(marker) {
			if pid, err := strconv.Atoi(p); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	spec := fmt.Sprintf("exec=/bin/sh -c,arg=setsid sh -c 'while :; do sleep 1; done; : %s' </dev/null >/dev/null 2>&1 & exit 0", marker)
	for i := 0; i < 20; i++ {
		if o := probeOnce(t, m, spec); o.code != 0 {
			t.Fatalf("run %d: %+v", i, o)
		}
	}
	waitFor(t, "no daemon left", 5*time.Second, func() bool {
		return len(leftoverProcs(marker)) == 0
	})
}

// leftoverProcs lists the processes whose command line holds marker.
func leftoverProcs(marker string) []string {
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if strings.Contains(string(b), marker) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestSignalHandled: a signal check sends only what the child catches or
// ignores — read from /proc/PID/status — never what its default action would
// end it with. Blocked is not enough: dash blocks every signal around each
// fork, and the signal, pending, ends it once unblocked (seen: a child killed
// by its check's USR1 before its trap was installed).
func TestSignalHandled(t *testing.T) {
	const status = "Name:\tapp\nSigQ:\t0/63457\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n" +
		"SigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n"
	usr1, usr2, hup := uint64(1)<<9, uint64(1)<<11, uint64(1)<<0
	for _, tc := range []struct {
		blk, ign, cgt uint64
		sig           syscall.Signal
		want          bool
	}{
		{0, 0, usr1, syscall.SIGUSR1, true},        // a handler
		{usr1, 0, 0, syscall.SIGUSR1, false},       // blocked (a fork in a shell): pending, then fatal
		{0, usr1, 0, syscall.SIGUSR1, true},        // ignored: harmless
		{0, 0, usr2 | hup, syscall.SIGUSR1, false}, // default action: ends the child
		{0, 0, 0, syscall.SIGHUP, false},
	} {
		s := fmt.Sprintf(status, tc.blk, tc.ign, tc.cgt)
		if have := handled([]byte(s), tc.sig); have != tc.want {
			t.Errorf("blk %x ign %x cgt %x, %v: handled %v, want %v", tc.blk, tc.ign, tc.cgt, tc.sig, have, tc.want)
		}
	}
	// This process catches nothing of SIGUSR2 unless a test asked for it;
	// the real file parses.
	if err := catches(os.Getpid(), syscall.SIGCHLD); err != nil {
		t.Errorf("SIGCHLD (ignored by default): %v", err)
	}
}
