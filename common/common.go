// Package common holds what both ends of the go-healthcheck protocol share: the
// v1.0.x constants (same names, same values) and the helpers that turn a socket name
// into a path and read, write and validate the name file.
//
// A name is never trusted as a path: it must pass ValidateName before it is joined
// to a directory, so a hostile or corrupt name file cannot point a client or a
// server outside the socket directory.
package common

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// The v1.0.x constants. Their names and values are part of the public API.
const (
	// BufferSize is the largest request or reply read from a connection.
	BufferSize = 4096
	// HealthcheckIPCCommand is the request that triggers a health check.
	HealthcheckIPCCommand = "ping"
	// HealthcheckIPCResponse is the reply of a healthy server.
	HealthcheckIPCResponse = "healthy"
	// HealthcheckSocketNameFile is the file, in the server's working directory,
	// that holds the socket's name.
	HealthcheckSocketNameFile = ".hc-socket"
)

// InvalidRequestResponse is the reply to any request the server does not know.
const InvalidRequestResponse = "send 'ping' to trigger healthcheck"

// Environment variables read by the server and the client. A supervisor such as
// hcinit sets them for its child; an explicit option always wins over them.
const (
	// EnvNameFile is the path of the name file the server writes instead of
	// HealthcheckSocketNameFile in its working directory, and the client reads
	// first.
	EnvNameFile = "HEALTHCHECK_NAME_FILE"
	// EnvSocketDir is the directory the server creates its socket in instead of
	// SocketPrefix (unix only). The client resolves names against it too.
	EnvSocketDir = "HEALTHCHECK_SOCKET_DIR"
	// EnvSocket is a full socket address the client dials without reading any
	// name file. On Linux a leading '@' names an abstract socket.
	EnvSocket = "HEALTHCHECK_SOCKET"
)

// MaxNameLength bounds a socket name. With SocketPrefix and ".sock" it keeps the
// path well inside sun_path's 108 bytes.
const MaxNameLength = 64

// ErrInvalidName is wrapped by every error ValidateName returns.
var ErrInvalidName = errors.New("invalid socket name")

// ValidateName reports whether name may be used as a socket name: 1 to
// MaxNameLength bytes of ASCII letters, digits, '.', '_' and '-', and neither "."
// nor "..".
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidName, MaxNameLength)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("%w: byte %q at offset %d (allowed: letters, digits, '.', '_', '-')", ErrInvalidName, c, i)
		}
	}
	return nil
}

// ParseName extracts the socket name from the contents of a name file. Leading
// and trailing white space (a v1.0.x file has none; one edited by hand may end in
// a newline) is dropped; whatever is left must pass ValidateName.
func ParseName(data []byte) (string, error) {
	if len(data) > BufferSize {
		return "", fmt.Errorf("%w: name file larger than %d bytes", ErrInvalidName, BufferSize)
	}
	name := strings.TrimSpace(string(data))
	if err := ValidateName(name); err != nil {
		return "", err
	}
	return name, nil
}

// ReadNameFile reads and validates the socket name stored in the file at path.
//
// Only a regular file is read: the file may be writable by a supervised child,
// and opening a FIFO put there would block the reader for ever.
func ReadNameFile(path string) (string, error) {
	f, err := openRegular(path)
	if err != nil {
		return "", fmt.Errorf("read name file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, BufferSize+1))
	if err != nil {
		return "", fmt.Errorf("read name file %s: %w", path, err)
	}
	name, err := ParseName(data)
	if err != nil {
		return "", fmt.Errorf("read name file %s: %w", path, err)
	}
	return name, nil
}

// WriteNameFile stores name in the file at path, replacing it atomically (write a
// temporary file in the same directory, then rename) so a reader never sees half
// a name. The file is readable by everyone: it holds no secret, only a name.
func WriteNameFile(path, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".hc-socket-*")
	if err != nil {
		return fmt.Errorf("write name file %s: %w", path, err)
	}
	tmpName := tmp.Name()
	_, werr := tmp.WriteString(name)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmpName, 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmpName, path)
	}
	if werr != nil {
		os.Remove(tmpName)
		return fmt.Errorf("write name file %s: %w", path, werr)
	}
	return nil
}

// RemoveNameFile removes the name file at path only if it still holds name, so a
// server never deletes the file of another server that replaced it.
func RemoveNameFile(path, name string) error {
	have, err := ReadNameFile(path)
	if err != nil || have != name {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove name file: %w", err)
	}
	return nil
}

// NameFilePath returns where the server writes, and the client first reads, the
// name file: $HEALTHCHECK_NAME_FILE when set, else HealthcheckSocketNameFile in the
// working directory.
func NameFilePath() string {
	if p := os.Getenv(EnvNameFile); p != "" {
		return p
	}
	return HealthcheckSocketNameFile
}

// SocketDir returns the directory socket names resolve against:
// $HEALTHCHECK_SOCKET_DIR when set (unix only), else SocketPrefix.
func SocketDir() string {
	return socketDir()
}

// SocketPath returns the address of the socket called name in dir. It validates
// name first, so the result never leaves dir. An empty dir means SocketDir().
func SocketPath(dir, name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	if dir == "" {
		dir = SocketDir()
	}
	return socketPath(dir, name), nil
}

// ReadRequest reads one request of at most BufferSize bytes from a client
// connection and returns it with surrounding white space trimmed. Like v1.0.x
// it does not wait for the client to close its side: it reads on only while
// what arrived is a strict prefix of one of words, so a request split across
// writes still works and any other request is answered at once.
func ReadRequest(r io.Reader, words ...string) (string, error) {
	b := requestBufs.Get().(*[BufferSize]byte)
	defer requestBufs.Put(b)
	buf := b[:]
	n := 0
	for n < len(buf) {
		k, err := r.Read(buf[n:])
		n += k
		req := strings.TrimSpace(string(buf[:n]))
		if err != nil {
			return req, err
		}
		if !isStrictPrefixOfAny(req, words) {
			return req, nil
		}
	}
	return strings.TrimSpace(string(buf[:n])), nil
}

// requestBufs are ReadRequest's buffers. A server reads one short request per
// connection, and a storm of probes is thousands of connections at once: a
// new 4 KiB buffer each was most of what a connection cost the heap.
var requestBufs = sync.Pool{New: func() any { return new([BufferSize]byte) }}

func isStrictPrefixOfAny(s string, words []string) bool {
	for _, w := range words {
		if len(s) < len(w) && strings.HasPrefix(w, s) {
			return true
		}
	}
	return false
}
