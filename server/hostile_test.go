//go:build !windows

package server

// The hostile-client suite for the library's server (what Go services link):
// the same guarantee as hcinit's socket — silent, half-sent and flooding
// clients never make an honest ping miss its deadline.

import (
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/hcclient"
)

// honestDeadline is kubelet's default probe timeout.
const honestDeadline = time.Second

func honestPings(t *testing.T, phase, addr string, n int) {
	t.Helper()
	var worst time.Duration
	for i := 0; i < n; i++ {
		began := time.Now()
		reply, err := hcclient.ExchangeVerified(context.Background(), addr, "", honestDeadline, nil)
		took := time.Since(began)
		worst = max(worst, took)
		if err != nil || reply != common.HealthcheckIPCResponse {
			t.Errorf("%s: honest ping %d: %q, %v (after %s)", phase, i, reply, err, took)
		}
	}
	t.Logf("%s: slowest of %d honest pings: %s", phase, n, worst)
}

// TestHostileSilentClients: 3,000 silent connections and 300 that sent half
// a request, held open, while honest pings keep being answered in time.
func TestHostileSilentClients(t *testing.T) {
	isolate(t)
	var s HealthcheckServer
	s.InitWithFunc(func() error { return nil })
	addr := startServer(t, &s)
	honestPings(t, "before", addr, 5)

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 3300; i++ {
		c, err := net.DialTimeout("unix", addr, time.Second)
		if err != nil {
			t.Logf("%d connected: %v", i, err)
			break
		}
		if i >= 3000 {
			io.WriteString(c, "pi")
		}
		conns = append(conns, c)
	}
	// The kernel queued those connections as fast as they were dialled; the
	// server accepts them one by one at this machine's speed (seconds under
	// -race on a busy machine). What is measured is honest pings while they
	// are held, so one untimed ping first: it is answered once everything
	// dialled before it was accepted (the accept queue is FIFO).
	began := time.Now()
	if reply, err := hcclient.ExchangeVerified(context.Background(), addr, "", 30*time.Second, nil); err != nil || reply != common.HealthcheckIPCResponse {
		t.Fatalf("first ping after %d connections: %q, %v", len(conns), reply, err)
	}
	t.Logf("every connection accepted %s after the last dial", time.Since(began))
	honestPings(t, fmt.Sprintf("%d silent or half-sent held", len(conns)), addr, 10)
}
