package health

import (
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

// sdNotify sends one datagram the way sd_notify(3) does.
func sdNotify(t *testing.T, addr, msg string) {
	t.Helper()
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatalf("dial NOTIFY_SOCKET: %v", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatalf("send %q: %v", msg, err)
	}
}

func TestNotifyReadyStatusWatchdogTrigger(t *testing.T) {
	h := start(t, Config{Specs: []string{"notify,interval=20ms,retries=2"}, Watchdog: 300 * time.Millisecond}, nil)
	env := h.ChildEnv()
	addr := envValue(env, "NOTIFY_SOCKET")
	if addr == "" || envValue(env, "WATCHDOG_USEC") != "300000" {
		t.Fatalf("ChildEnv = %q", env)
	}
	h.ChildStarted(os.Getpid())
	waitFor(t, "a result", 3*time.Second, func() bool { return len(h.checkStatus("notify").Log) > 0 })
	if st := h.Status(); st.Ready || !strings.Contains(h.checkStatus("notify").Log[0].Output, "waiting for READY=1") {
		t.Fatalf("before READY=1: ready %v, log %+v", st.Ready, h.checkStatus("notify").Log)
	}

	sdNotify(t, addr, "READY=1\nSTATUS=serving 3 clients\nUNKNOWN=whatever")
	waitFor(t, "ready", 3*time.Second, func() bool { return h.Status().Ready })
	st := h.Status()
	if st.Notify == nil || st.Notify.Status != "serving 3 clients" {
		t.Errorf("notify status %+v", st.Notify)
	}
	if out := h.checkStatus("notify").Log; !strings.Contains(out[len(out)-1].Output, "STATUS=serving 3 clients") {
		t.Errorf("STATUS not in the check output: %q", out[len(out)-1].Output)
	}

	sdNotify(t, addr, "RELOADING=1")
	waitFor(t, "not ready while reloading", 3*time.Second, func() bool { return !h.Status().Ready })
	if st := h.Status(); st.Overall != StatusHealthy {
		t.Errorf("reloading made health %s, want healthy", st.Overall)
	}
	sdNotify(t, addr, "READY=1")
	waitFor(t, "ready again", 3*time.Second, func() bool { return h.Status().Ready })

	// Keep-alives hold the watchdog off; silence trips it.
	for i := 0; i < 6; i++ {
		sdNotify(t, addr, "WATCHDOG=1")
		time.Sleep(100 * time.Millisecond)
	}
	if st := h.Status(); st.Overall != StatusHealthy {
		t.Fatalf("with keep-alives: %s (%s)", st.Overall, st.Reason)
	}
	waitFor(t, "watchdog unhealthy", 3*time.Second, func() bool { return h.Status().Overall == StatusUnhealthy })
	if r := h.Status().Reason; !strings.Contains(r, "no WATCHDOG=1 for") {
		t.Errorf("reason %q", r)
	}
	// WATCHDOG_USEC=0 turns the watchdog off; then trigger fails at once.
	sdNotify(t, addr, "WATCHDOG_USEC=0")
	waitFor(t, "healthy again", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
	select {
	case <-h.Unhealthy():
	default:
	}
	sdNotify(t, addr, "WATCHDOG=trigger")
	select {
	case <-h.Unhealthy():
	case <-time.After(time.Second):
		t.Fatal("WATCHDOG=trigger did not make the check unhealthy")
	}
	if cs := h.checkStatus("notify"); cs.Status != StatusUnhealthy || !strings.Contains(cs.Log[len(cs.Log)-1].Output, "WATCHDOG=trigger") {
		t.Errorf("after trigger: %+v", cs)
	}
	sdNotify(t, addr, "STOPPING=1")
	waitFor(t, "not ready after STOPPING=1", 3*time.Second, func() bool { return !h.Status().Ready })
}

func TestNotifyAbstractFallback(t *testing.T) {
	// A runtime directory that cannot be created: NOTIFY_SOCKET is abstract.
	h := start(t, Config{Specs: []string{"notify,interval=20ms"}, RuntimeDir: "/proc/no-such-dir"}, nil)
	addr := envValue(h.ChildEnv(), "NOTIFY_SOCKET")
	if !strings.HasPrefix(addr, "@hcinit-notify-") {
		t.Fatalf("NOTIFY_SOCKET = %q, want an abstract address", addr)
	}
	if envValue(h.ChildEnv(), "HEALTHCHECK_NAME_FILE") != "" {
		t.Errorf("HEALTHCHECK_NAME_FILE set without a runtime directory")
	}
	h.ChildStarted(os.Getpid())
	sdNotify(t, addr, "READY=1")
	waitFor(t, "ready", 3*time.Second, func() bool { return h.Status().Ready })
}

// TestSignalProbeWithNotifyHeartbeat: the test process is the "child"; it
// answers USR1 with a notify message.
func TestSignalProbeWithNotifyHeartbeat(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGUSR1)
	defer signal.Stop(sigs)
	h := start(t, Config{Specs: []string{"signal=USR1,interval=30ms,timeout=500ms"}}, nil)
	addr := envValue(h.ChildEnv(), "NOTIFY_SOCKET")
	stop := make(chan struct{})
	done := make(chan struct{})
	answered := 0
	go func() {
		defer close(done)
		for {
			select {
			case <-sigs:
				answered++
				if answered <= 3 {
					conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
					if err == nil {
						conn.Write([]byte("WATCHDOG=1"))
						conn.Close()
					}
				}
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); <-done }()
	h.ChildStarted(os.Getpid())
	waitFor(t, "healthy", 3*time.Second, func() bool { return h.Status().Overall == StatusHealthy })
	// After three answers the "child" goes quiet.
	waitFor(t, "unhealthy", 5*time.Second, func() bool { return h.Status().Overall == StatusUnhealthy })
	if r := h.Status().Reason; !strings.Contains(r, "no notify message after SIGUSR1") {
		t.Errorf("reason %q", r)
	}
}

// TestRuntimeDirLeftovers: an earlier hcinit with the same pid (a container
// restarted with the same /run) left its notify socket and child directory.
// Both are replaced: the child gets a working NOTIFY_SOCKET at the same path
// and an empty directory of its own.
func TestRuntimeDirLeftovers(t *testing.T) {
	run := filepath.Join(shortDir(t), "run")
	pid := strconv.Itoa(os.Getpid())
	os.MkdirAll(filepath.Join(run, "child-"+pid), 0o755)
	os.WriteFile(filepath.Join(run, "child-"+pid, "hc-socket"), []byte("oldName"), 0o644)
	stale, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(run, "notify-"+pid+".sock"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	stale.Close()

	h := start(t, Config{Specs: []string{"notify,interval=20ms"}, RuntimeDir: run}, nil)
	addr := envValue(h.ChildEnv(), "NOTIFY_SOCKET")
	if addr != filepath.Join(run, "notify-"+pid+".sock") {
		t.Fatalf("NOTIFY_SOCKET = %q", addr)
	}
	if ents, err := os.ReadDir(envValue(h.ChildEnv(), "HEALTHCHECK_SOCKET_DIR")); err != nil || len(ents) != 0 {
		t.Errorf("child directory: %v entries, %v; want empty", len(ents), err)
	}
	h.ChildStarted(os.Getpid())
	sdNotify(t, addr, "READY=1")
	waitFor(t, "ready", 3*time.Second, func() bool { return h.Status().Ready })
}
