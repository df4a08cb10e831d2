package health

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestSmokeTCPCheckAndClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	h := start(t, Config{Specs: []string{"tcp://" + ln.Addr().String() + ",interval=20ms"}}, nil)
	if have := h.ask(t, "ping"); !strings.HasPrefix(have, "starting") {
		t.Errorf("before ChildStarted: have %q, want starting…", have)
	}
	h.ChildStarted(os.Getpid())
	waitFor(t, "healthy", 2*time.Second, func() bool { return h.Status().Overall == StatusHealthy })

	if have := h.ask(t, "ping"); have != "healthy" {
		t.Fatalf("ping = %q", have)
	}
	t.Log("\n" + h.ask(t, "status"))

	ln.Close()
	waitFor(t, "unhealthy", 2*time.Second, func() bool { return h.Status().Overall == StatusUnhealthy })
	have := h.ask(t, "ping")
	if !strings.HasPrefix(have, "unhealthy") {
		t.Fatalf("ping = %q, want unhealthy…", have)
	}
	t.Log(have)
}
