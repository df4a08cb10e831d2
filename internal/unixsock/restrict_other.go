//go:build !linux && !windows

package unixsock

import (
	"io/fs"
	"os"
)

// restrict gives the socket file at path mode.
func restrict(path string, mode fs.FileMode) error { return os.Chmod(path, mode) }
