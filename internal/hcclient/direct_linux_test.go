package hcclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// askOutcome is what ask's caller sees of one exchange: the reply and the
// errors, as text.
func askOutcome(reply []byte, werr, rerr, err error) string {
	return fmt.Sprintf("reply %q, write error %v, read error %v, error %v", reply, werr, rerr, err)
}

// TestAskDirectMatchesConn: the blocking-socket exchange (askDirect, what
// `hcinit check` uses) tells the caller the same as the net package's
// (askConn) for every kind of server: answers, silent, answers without
// reading, too long, absent, and a peer that must not be believed.
func TestAskDirectMatchesConn(t *testing.T) {
	dir := shortDir(t)
	long := strings.Repeat("x", 700)
	servers := map[string]func(c net.Conn) string{
		"healthy": v1Handler("healthy"),
		"silent": func(c net.Conn) string {
			buf := make([]byte, 16)
			c.Read(buf) // the client's CloseWrite ends this; then say nothing
			time.Sleep(700 * time.Millisecond)
			return ""
		},
		"refuses": func(c net.Conn) string { c.Write([]byte("permission denied")); return "" },
		"long":    v1Handler(long),
	}
	for name, handle := range servers {
		addr := filepath.Join(dir, name+".sock")
		fakeServer(t, addr, handle)
		t.Run(name, func(t *testing.T) {
			for _, limit := range []int64{512, 600, 1 << 20} {
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				viaConn := askOutcome(askConn(ctx, addr, WordPing, limit))
				cancel()
				viaDirect := askOutcome(askDirect(time.Now().Add(300*time.Millisecond), addr, WordPing, limit))
				if name == "refuses" { // whether "ping" lands before the close is a race: compare the reply
					viaConn, _, _ = strings.Cut(viaConn, ",")
					viaDirect, _, _ = strings.Cut(viaDirect, ",")
				}
				if viaConn != viaDirect {
					t.Errorf("limit %d:\nnet:    %s\ndirect: %s", limit, viaConn, viaDirect)
				}
			}
		})
	}
	for _, addr := range []string{filepath.Join(dir, "none.sock"), "@hcinit-test-none-" + filepath.Base(dir)} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		viaConn := askOutcome(askConn(ctx, addr, WordPing, 512))
		cancel()
		if viaDirect := askOutcome(askDirect(time.Now().Add(time.Second), addr, WordPing, 512)); viaConn != viaDirect {
			t.Errorf("%s:\nnet:    %s\ndirect: %s", addr, viaConn, viaDirect)
		}
	}
}

// TestAskDirectTimeouts: a silent server and a backlog that stays full end
// at the deadline, as timeouts; a backlog that drains is waited for.
func TestAskDirectTimeouts(t *testing.T) {
	dir := shortDir(t)
	silent := filepath.Join(dir, "silent.sock")
	fakeServer(t, silent, func(c net.Conn) string { time.Sleep(time.Second); return "" })
	began := time.Now()
	_, _, rerr, err := askDirect(began.Add(200*time.Millisecond), silent, WordPing, 512)
	if err != nil || !strings.HasSuffix(fmt.Sprint(rerr), "i/o timeout") {
		t.Errorf("silent server: read error %v, error %v; want an i/o timeout", rerr, err)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("silent server: gave up after %s, want about 200ms", took)
	}

	_, _, _, err = askDirect(time.Now().Add(300*time.Millisecond), fullBacklog(t, time.Hour), WordPing, 512)
	if !errors.Is(err, syscall.EAGAIN) {
		t.Errorf("backlog that stays full: %v, want EAGAIN", err)
	}
	reply, _, _, err := askDirect(time.Now().Add(5*time.Second), fullBacklog(t, 300*time.Millisecond), WordPing, 512)
	if err != nil || string(reply) != "healthy" {
		t.Errorf("backlog that drains: %q, %v; want healthy", reply, err)
	}
}

// TestAskRetriesEviction: a server that closed a connection without a word
// (evicted under a flood) is asked again within the deadline; the first
// address that answers wins.
func TestAskRetriesEviction(t *testing.T) {
	dir := shortDir(t)
	addr := filepath.Join(dir, "evicts.sock")
	var n atomic.Int32
	fakeServer(t, addr, func(c net.Conn) string {
		if n.Add(1) == 1 {
			return "" // closed unread
		}
		return v1Handler("healthy")(c)
	})
	reply, err := Ask(time.Now().Add(5*time.Second), []string{filepath.Join(dir, "none.sock"), addr}, WordPing, 512)
	if err != nil || reply != "healthy" || n.Load() != 2 {
		t.Errorf("Ask = %q, %v after %d connections; want healthy on the second", reply, err, n.Load())
	}
}
