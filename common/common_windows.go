//go:build windows

package common

// SocketPrefix is the namespace of the named pipes servers listen on:
// \\.\pipe\<name>.
const SocketPrefix = `\\.\pipe\`

func socketDir() string { return SocketPrefix }

func socketPath(dir, name string) string { return dir + name }
