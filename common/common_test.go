//go:build !windows

package common

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestConstants(t *testing.T) {
	// The v1.0.x values; changing one breaks every deployed peer.
	if BufferSize != 4096 || HealthcheckIPCCommand != "ping" || HealthcheckIPCResponse != "healthy" ||
		HealthcheckSocketNameFile != ".hc-socket" || SocketPrefix != "/tmp/" ||
		InvalidRequestResponse != "send 'ping' to trigger healthcheck" {
		t.Fatal("a v1.0.x constant changed")
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"Im7ADLrrFPUHFVQg", true},
		{"a", true},
		{"hc-init_1.2", true},
		{strings.Repeat("x", MaxNameLength), true},
		{strings.Repeat("x", MaxNameLength+1), false},
		{"", false},
		{".", false},
		{"..", false},
		{"...", true},
		{"../etc/passwd", false},
		{"a/b", false},
		{`a\b`, false},
		{"/abs", false},
		{"with space", false},
		{"new\nline", false},
		{"nul\x00", false},
		{"@abstract", false},
		{"ümlaut", false},
		{"tab\t", false},
	}
	for _, tt := range tests {
		err := ValidateName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) error %v does not wrap ErrInvalidName", tt.name, err)
		}
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		data string
		want string
		ok   bool
	}{
		{"Im7ADLrrFPUHFVQg", "Im7ADLrrFPUHFVQg", true},
		{"Im7ADLrrFPUHFVQg\n", "Im7ADLrrFPUHFVQg", true},
		{"  name \r\n", "name", true},
		{"", "", false},
		{"\n", "", false},
		{"two\nlines", "", false},
		{"../../x", "", false},
		{strings.Repeat("a", BufferSize+1), "", false},
	}
	for _, tt := range tests {
		have, err := ParseName([]byte(tt.data))
		if (err == nil) != tt.ok || have != tt.want {
			t.Errorf("ParseName(%.20q) = %q, %v; want %q, ok=%v", tt.data, have, err, tt.want, tt.ok)
		}
	}
}

func TestSocketPath(t *testing.T) {
	t.Setenv(EnvSocketDir, "")
	tests := []struct {
		dir, name, want string
		ok              bool
	}{
		{"", "abc", "/tmp/abc.sock", true},
		{"/tmp/", "abc", "/tmp/abc.sock", true},
		{"/run/hc", "abc", "/run/hc/abc.sock", true},
		{"/run/hc", "../abc", "", false},
		{"/run/hc", "", "", false},
	}
	for _, tt := range tests {
		have, err := SocketPath(tt.dir, tt.name)
		if (err == nil) != tt.ok || have != tt.want {
			t.Errorf("SocketPath(%q, %q) = %q, %v; want %q", tt.dir, tt.name, have, err, tt.want)
		}
	}
	t.Setenv(EnvSocketDir, "/srv/hc")
	if have, _ := SocketPath("", "abc"); have != "/srv/hc/abc.sock" {
		t.Errorf("SocketPath with $%s = %q", EnvSocketDir, have)
	}
	if have := SocketDir(); have != "/srv/hc/" {
		t.Errorf("SocketDir() = %q", have)
	}
}

func TestNameFilePath(t *testing.T) {
	t.Setenv(EnvNameFile, "")
	if have := NameFilePath(); have != ".hc-socket" {
		t.Errorf("NameFilePath() = %q", have)
	}
	t.Setenv(EnvNameFile, "/run/hc/name")
	if have := NameFilePath(); have != "/run/hc/name" {
		t.Errorf("NameFilePath() = %q", have)
	}
}

func TestNameFileLifecycle(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".hc-socket")
	if err := WriteNameFile(path, "../evil"); err == nil {
		t.Fatal("WriteNameFile accepted an invalid name")
	}
	if err := WriteNameFile(path, "firstServerName1"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if string(raw) != "firstServerName1" {
		t.Errorf("file holds %q, want the bare name (v1.0.x format)", raw)
	}
	if have, err := ReadNameFile(path); err != nil || have != "firstServerName1" {
		t.Errorf("ReadNameFile = %q, %v", have, err)
	}
	// A second server replaces the file; the first must not remove it.
	if err := WriteNameFile(path, "secondServerNam2"); err != nil {
		t.Fatal(err)
	}
	RemoveNameFile(path, "firstServerName1")
	if have, _ := ReadNameFile(path); have != "secondServerNam2" {
		t.Errorf("after foreign remove: %q", have)
	}
	RemoveNameFile(path, "secondServerNam2")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("name file still there: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
	if _, err := ReadNameFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("ReadNameFile of a missing file = %v, want an error naming it", err)
	}
}

// FuzzParseName checks that no name file content yields a name that escapes
// the socket directory.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"Im7ADLrrFPUHFVQg", "name\n", "..", "../x", "a/b", "@x", " \t", strings.Repeat("z", 65)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		name, err := ParseName(data)
		if err != nil {
			if name != "" {
				t.Fatalf("error %v with name %q", err, name)
			}
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("error %v does not wrap ErrInvalidName", err)
			}
			return
		}
		if name == "" || len(name) > MaxNameLength || !utf8.ValidString(name) {
			t.Fatalf("accepted %q", name)
		}
		if strings.ContainsAny(name, "/\\\x00 \t\r\n") || name == "." || name == ".." {
			t.Fatalf("accepted %q", name)
		}
		// Round trip: a valid name parses to itself.
		if again, err := ParseName([]byte(name)); err != nil || again != name {
			t.Fatalf("ParseName(%q) = %q, %v", name, again, err)
		}
		const dir = "/run/hc"
		path, err := SocketPath(dir, name)
		if err != nil {
			t.Fatalf("SocketPath(%q): %v", name, err)
		}
		if filepath.Dir(path) != dir || filepath.Clean(path) != path {
			t.Fatalf("SocketPath(%q) = %q escapes %s", name, path, dir)
		}
	})
}

// TestReadRequest: a request word split across writes is read whole; anything
// that cannot become a known word is returned at once, without waiting for EOF.
func TestReadRequest(t *testing.T) {
	for _, tc := range []struct {
		chunks []string
		want   string
	}{
		{[]string{"ping"}, "ping"},
		{[]string{"pi", "ng"}, "ping"},
		{[]string{"st", "atus"}, "status"},
		{[]string{"hello", "never read"}, "hello"},
		{[]string{" ping\n"}, "ping"},
	} {
		r := &chunkReader{chunks: tc.chunks}
		have, err := ReadRequest(r, "ping", "status")
		if err != nil || have != tc.want {
			t.Errorf("ReadRequest(%q) = %q, %v; want %q", tc.chunks, have, err, tc.want)
		}
	}
}

// chunkReader returns one chunk per Read, then blocks the test by failing it.
type chunkReader struct{ chunks []string }

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, errors.New("read past the request: the reader waited for more")
	}
	n := copy(p, c.chunks[0])
	c.chunks = c.chunks[1:]
	return n, nil
}

// TestWriteNameFileErrorNamesTheFile: a name file that cannot be written (its
// directory is not writable, or gone) is reported by its own path, the one a
// user can act on — not by the temporary file it was being written through
// (".hc-socket-1234567"), which the old message named.
func TestWriteNameFileErrorNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", HealthcheckSocketNameFile)
	err := WriteNameFile(path, "abc")
	if err == nil || !strings.Contains(err.Error(), "write name file "+path+":") {
		t.Errorf("WriteNameFile into a missing directory: %v; want it to name %s", err, path)
	}
}
