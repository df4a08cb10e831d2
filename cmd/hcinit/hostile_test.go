package main

// Hostile neighbours against the real binary: floods sized from the file
// limit hcinit runs under, and what the child inherits.

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestChildKeepsFileLimit: the Go runtime raises hcinit's soft RLIMIT_NOFILE
// to the hard limit; the child still sees the soft limit it was started
// with, as under tini.
func TestChildKeepsFileLimit(t *testing.T) {
	p, err := spawn(t, []string{"sh", "-c", `ulimit -Sn 1024; exec hcinit -- sh -c 'echo soft=$(ulimit -Sn)'`})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.expectExit(10*time.Second, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.out.await(time.Second, "soft=1024"); err != nil {
		t.Error(err)
	}
}

// TestHostileFileLimitFlood: under `ulimit -n 1024`, 1,100 idle clients on
// the health socket and 1,100 on --http exhaust nothing hcinit needs: its own
// checks (tcp, exec) keep passing, no transition, and honest probes answer.
func TestHostileFileLimitFlood(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "hc.sock")
	httpAddr := freePort(t)
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	go func() {
		for {
			c, err := target.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	cmdline := fmt.Sprintf(`ulimit -n 1024; exec hcinit --socket %s --http %s --interval 100ms --retries 1 `+
		`--check type=tcp,addr=%s --check exec=/bin/true,name=exec --on-unhealthy restart -- sleep 600`,
		sock, httpAddr, target.Addr())
	p, err := spawn(t, []string{"sh", "-c", cmdline})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitStatus(sock, 10*time.Second, "healthy", func(st health.Status) bool { return st.Overall == health.StatusHealthy }); err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, a := range []struct{ network, addr string }{{"unix", sock}, {"tcp", httpAddr}} {
		for i := 0; i < 1100; i++ {
			c, err := net.DialTimeout(a.network, a.addr, time.Second)
			if err != nil {
				t.Logf("%s flood: %d connected: %v", a.network, i, err)
				break
			}
			conns = append(conns, c)
		}
	}
	t.Logf("holding %d idle connections", len(conns))
	// Twenty check intervals under the flood, with honest probes throughout.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		began := time.Now()
		out, code, err := hcinitClient("check", "--socket", sock, "--timeout", "1s")
		if err != nil || code != 0 {
			t.Errorf("honest check under the flood: exit %d %v: %s (after %s)", code, err, out, time.Since(began))
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, err := status(sock)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range st.Checks {
		for _, r := range c.Log {
			if r.ExitCode != 0 {
				t.Errorf("check %s failed under the flood: %q", c.Name, r.Output)
			}
		}
	}
	for _, bad := range []string{"too many open files", "check unhealthy", "restarting"} {
		if strings.Contains(strings.ToLower(p.stderr()), bad) {
			t.Errorf("log has %q:%s", bad, p.stderrNote())
		}
	}
}
