package health

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestExecArgumentsStayOffHTTP: an exec check's arguments often carry a
// secret that is no URL (redis-cli -a PASSWORD ping, mysqladmin -pPASSWORD,
// curl -u user:pass). The unauthenticated --http /status shows the program
// only, unless HTTPDetails asks for the whole command; the health socket,
// which checks its peer, shows it all. The old code served the whole command
// line on /status.
func TestExecArgumentsStayOffHTTP(t *testing.T) {
	r := startReaper(t)
	for _, details := range []bool{false, true} {
		h := start(t, Config{Specs: []string{"exec=/bin/sh -c 'exit 0' ARGSECRET,interval=1h"}, Reaper: r,
			HTTPAddr: "127.0.0.1:0", HTTPDetails: details}, nil)
		h.ChildStarted(os.Getpid())
		var addr string
		waitFor(t, "HTTP listener", 3*time.Second, func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			addr = h.httpAddr
			return addr != ""
		})
		_, web := httpExchange(t, addr, "GET", "GET /status HTTP/1.1\r\nHost: x\r\n\r\n")
		if have := strings.Contains(web, "ARGSECRET"); have != details {
			t.Errorf("details=%v: the exec check's arguments on /status: %v\n%s", details, have, web)
		}
		if !strings.Contains(web, "/bin/sh") {
			t.Errorf("details=%v: the exec check's program not named on /status:\n%s", details, web)
		}
		if sock := h.ask(t, "status"); !strings.Contains(sock, "ARGSECRET") {
			t.Errorf("details=%v: the whole command missing on the health socket:\n%s", details, sock)
		}
	}
}
