//go:build !windows

package probe

import (
	"context"
	"net"
)

// dial connects to a unix socket. On Linux the net package maps a leading '@'
// to the abstract namespace.
func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", addr)
}

// wellKnown is hcinit's abstract socket; only Linux has the abstract namespace.
const wellKnown = abstractDefault
