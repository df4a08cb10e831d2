//go:build !windows

package hcclient

import (
	"context"
	"time"
)

// Exchange is ExchangeVerified without a verify: the tests' v1.0.x exchange.
func Exchange(ctx context.Context, addr, request string, timeout time.Duration) (string, error) {
	return exchange(ctx, addr, request, timeout, nil)
}
