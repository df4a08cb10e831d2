//go:build windows

package hcclient

import (
	"context"
	"net"

	"github.com/Microsoft/go-winio"
)

// dial connects to a named pipe.
func dial(ctx context.Context, addr string) (net.Conn, error) {
	return winio.DialPipeContext(ctx, addr)
}
