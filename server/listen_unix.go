//go:build !windows

package server

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
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
	// staleRequest is what we send when checking whether a socket is alive: a
	// request v1.0.x and current servers answer with InvalidRequestResponse.
	// Closing without sending anything would make a v1.0.x server stop itself.
	staleRequest = "hc-stale-check"
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
// path, and listens on path.
func listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := ensureDir(dir, dirMode(dir)); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if errors.Is(err, syscall.EADDRINUSE) {
		if err := removeStale(path); err != nil {
			return nil, err
		}
		ln, err = net.Listen("unix", path)
	}
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true) // Stop removes the socket
	if err := os.Chmod(path, socketMode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

// removeStale removes the socket at path if no server answers on it. It
// refuses to touch anything that is not a socket or that a server accepts
// connections on.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("listen: %s exists and is not a socket", path)
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.SetDeadline(time.Now().Add(time.Second))
		io.WriteString(conn, staleRequest)
		conn.Close()
		return fmt.Errorf("listen: %s: a live server answers on this socket", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("listen: check existing socket: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("listen: remove stale socket: %w", err)
	}
	return nil
}
