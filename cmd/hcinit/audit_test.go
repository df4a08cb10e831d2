package main

// Outside-in audit cases (wave 2, session 5).

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// TestNestedHcinitAnswersThroughTheOuter: hcinit under hcinit (an image whose
// ENTRYPOINT is hcinit, run with a command that is hcinit with the user's
// checks; a pod's args doing the same). `hcinit check` reaches the outer one,
// the container's init. The old code answered from the outer's own process
// check alone: "healthy" for ever while every check the user configured on
// the inner hcinit failed. The outer exports HEALTHCHECK_SOCKET_DIR and
// HEALTHCHECK_NAME_FILE to its child as to any go-healthcheck server; the
// inner now announces itself there and the outer adopts it as a delegate.
func TestNestedHcinitAnswersThroughTheOuter(t *testing.T) {
	outer := fmt.Sprintf("@hcinit-audit-outer-%d", os.Getpid())
	inner := fmt.Sprintf("@hcinit-audit-inner-%d", os.Getpid())
	flag := t.TempDir() + "/up"
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := spawn(t, []string{hcinitBin(), "--socket", outer, "--interval", "200ms", "--retries", "1", "--",
		hcinitBin(), "--socket", inner, "--interval", "200ms", "--retries", "1",
		"--check", "exec=/bin/test -f " + flag + ",name=app", "--", "/bin/sleep", "60"})
	if err != nil {
		t.Fatal(err)
	}
	delegated := func(st health.Status) bool {
		for _, c := range st.Checks {
			if c.Kind == "delegate" && c.Status == health.StatusHealthy {
				return true
			}
		}
		return false
	}
	if _, err := waitStatus(outer, 20*time.Second, "the outer hcinit asks the inner one", delegated); err != nil {
		t.Fatalf("%v%s", err, p.stderrNote())
	}
	// The inner hcinit's check fails: the outer, which the container's
	// HEALTHCHECK asks, must say so.
	os.Remove(flag)
	if _, err := waitStatus(inner, 20*time.Second, "the inner hcinit unhealthy", func(st health.Status) bool {
		return st.Overall == health.StatusUnhealthy
	}); err != nil {
		t.Fatalf("%v%s", err, p.stderrNote())
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, code, err := hcinitClient("check", "--socket", outer, "--timeout", "3s")
		if err != nil {
			t.Fatal(err)
		}
		if code == 1 && strings.Contains(out, "app") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hcinit check on the outer hcinit: exit %d %q 20s after the inner one's check failed, want exit 1 naming it%s", code, out, p.stderrNote())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// And healthy again once the inner one is.
	os.WriteFile(flag, nil, 0o644)
	if _, err := waitStatus(outer, 20*time.Second, "the outer hcinit healthy again", func(st health.Status) bool {
		return st.Overall == health.StatusHealthy
	}); err != nil {
		t.Fatalf("%v%s", err, p.stderrNote())
	}
}

// TestNestedHcinitIgnoresTheParentsEnvironment: the outer hcinit configured by
// the container's environment (ENV HCINIT_HTTP=:8081, HCINIT_SOCKET, as the
// README shows), with hcinit below it. The inner one inherited the variables,
// could not bind the port and socket the outer holds, and exited 2: the
// container exited 2 at once. The HCINIT_* environment of an hcinit below
// another is the parent's configuration, not its own.
func TestNestedHcinitIgnoresTheParentsEnvironment(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().String()
	ln.Close()
	outer := fmt.Sprintf("@hcinit-audit-envouter-%d", os.Getpid())
	p, err := spawn(t, []string{hcinitBin(), "--interval", "200ms", "--", hcinitBin(), "--", "/bin/sleep", "60"},
		withEnv("HCINIT_SOCKET="+outer, "HCINIT_HTTP="+port))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitStatus(outer, 20*time.Second, "the outer hcinit asks the inner one", func(st health.Status) bool {
		for _, c := range st.Checks {
			if c.Kind == "delegate" && c.Status == health.StatusHealthy {
				return true
			}
		}
		return false
	}); err != nil {
		code, _ := p.exit(time.Second)
		t.Fatalf("%v (hcinit exit %d)%s", err, code, p.stderrNote())
	}
	if p.exited() {
		t.Fatalf("hcinit exited%s", p.stderrNote())
	}
}
