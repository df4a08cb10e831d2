//go:build !windows

package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/unixsock"
)

const (
	// sharedDirMode is the mode of a socket directory created in place of a
	// missing /tmp: world-writable with the sticky bit, like /tmp itself.
	sharedDirMode = fs.ModeSticky | 0o777
	// privateDirMode is the mode of any other socket directory we create.
	privateDirMode = 0o700
	// socketMode lets the owner and its group connect (connect needs write
	// permission); root always can.
	socketMode = 0o660
)

// dirMode returns the mode a missing socket directory is created with.
func dirMode(dir string) fs.FileMode {
	if filepath.Clean(dir) == filepath.Clean(common.SocketPrefix) {
		return sharedDirMode
	}
	return privateDirMode
}

// ensureDir creates dir with perm when it is missing, whatever the umask. An
// existing directory is left as it is.
func ensureDir(dir string, perm fs.FileMode) error {
	dir = filepath.Clean(dir)
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("socket directory %s: not a directory", dir)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), perm.Perm()|0o700); err != nil {
		return fmt.Errorf("create socket directory: %w", err)
	}
	if err := os.Mkdir(dir, perm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // created by someone else meanwhile
		}
		return fmt.Errorf("create socket directory: %w", err)
	}
	// Mkdir's mode went through the umask; set the one we mean.
	if err := os.Chmod(dir, perm); err != nil {
		return fmt.Errorf("create socket directory: %w", err)
	}
	return nil
}

// listen creates the socket directory if needed, replaces a stale socket at
// path, and listens on path (see internal/unixsock).
func listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := ensureDir(dir, dirMode(dir)); err != nil {
		return nil, err
	}
	ln, err := unixsock.Listen(path, socketMode)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	ln.SetUnlinkOnClose(true) // Stop removes the socket
	return ln, nil
}
