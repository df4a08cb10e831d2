//go:build !windows

package common

import (
	"os"
	"strings"
)

// SocketPrefix is where v1.0.x servers create their sockets: /tmp/<name>.sock.
const SocketPrefix = "/tmp/"

func socketDir() string {
	if d := os.Getenv(EnvSocketDir); d != "" {
		if !strings.HasSuffix(d, "/") {
			d += "/"
		}
		return d
	}
	return SocketPrefix
}

func socketPath(dir, name string) string {
	if !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	return dir + name + ".sock"
}
