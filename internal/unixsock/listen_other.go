//go:build !linux && !windows

package unixsock

import "net"

func listenUnix(addr string) (*net.UnixListener, error) {
	return net.ListenUnix("unix", &net.UnixAddr{Name: addr, Net: "unix"})
}
