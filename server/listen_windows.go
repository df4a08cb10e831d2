//go:build windows

package server

import (
	"fmt"
	"net"

	"github.com/Microsoft/go-winio"
)

// listen creates the named pipe at path. Pipes vanish with their last handle,
// so there is no stale pipe to replace; a pipe another server still holds makes
// ListenPipe fail.
func listen(path string) (net.Listener, error) {
	ln, err := winio.ListenPipe(path, nil)
	if err != nil {
		return nil, fmt.Errorf("listen %s (is another server using this name?): %w", path, err)
	}
	return ln, nil
}
