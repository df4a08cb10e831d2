//go:build !windows

package hcclient

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// dial connects to a unix socket. On Linux the net package maps a leading '@'
// to the abstract namespace.
//
// A full listen backlog makes connect fail with EAGAIN at once (unix sockets
// do not queue the connector as TCP does). That is a busy server, not a
// missing one, so dial retries, backing off from 5 to 100 ms, until ctx ends.
func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	wait := 5 * time.Millisecond
	var full error // the last EAGAIN: what the deadline ended, if it ends in a dial
	for {
		c, err := d.DialContext(ctx, "unix", addr)
		if err != nil && full != nil && ctx.Err() != nil {
			return nil, full
		}
		if err == nil || !errors.Is(err, syscall.EAGAIN) {
			return c, err
		}
		full = err
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}
