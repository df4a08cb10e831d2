package health

import (
	"bytes"
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

	var out, errb bytes.Buffer
	if code := CheckMain([]string{"--socket", h.sock}, &out, &errb); code != 0 {
		t.Fatalf("CheckMain = %d, out %q err %q", code, out.String(), errb.String())
	}
	if out.String() != "healthy\n" {
		t.Errorf("out = %q", out.String())
	}
	out.Reset()
	if code := StatusMain([]string{"--socket", h.sock}, &out, &errb); code != 0 {
		t.Fatalf("StatusMain = %d", code)
	}
	t.Log("\n" + out.String())

	ln.Close()
	waitFor(t, "unhealthy", 2*time.Second, func() bool { return h.Status().Overall == StatusUnhealthy })
	out.Reset()
	if code := CheckMain([]string{"--socket", h.sock}, &out, &errb); code != 1 {
		t.Fatalf("CheckMain = %d, want 1", code)
	}
	t.Log(out.String())
}
