//go:build !windows

package server

import (
	"errors"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
)

// v1Client is the go-healthcheck v1.0.x client, byte for byte: it reads
// .hc-socket from the working directory, dials /tmp/<name>.sock, writes
// "ping" without closing its side, and takes what one read of up to 4096
// bytes returns within 10 s.
func v1Client(req string) (string, error) {
	name, err := os.ReadFile(".hc-socket")
	if err != nil {
		return "", err
	}
	conn, err := net.Dial("unix", "/tmp/"+string(name)+".sock")
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		return "", err
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(buf[:n])), nil
}

// A v1.0.x client finds and talks to a server that runs with the v1.0.x
// defaults: .hc-socket in the working directory, socket in /tmp.
func TestV1ClientCompat(t *testing.T) {
	t.Setenv(common.EnvNameFile, "")
	t.Setenv(common.EnvSocketDir, "")
	t.Chdir(t.TempDir())

	var healthy atomic.Bool
	tests := []struct {
		req, want string
		healthy   bool
	}{
		{"ping", "healthy", true},
		{"ping", "cache cold", false},
		{"pong", "send 'ping' to trigger healthcheck", true},
	}
	var s HealthcheckServer
	s.InitWithFunc(func() error {
		if healthy.Load() {
			return nil
		}
		return errors.New("cache cold")
	})
	startServer(t, &s)

	raw, err := os.ReadFile(".hc-socket")
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 16 {
		t.Errorf(".hc-socket holds %q, want exactly 16 bytes, no newline", raw)
	}
	sock := "/tmp/" + string(raw) + ".sock"
	if !exists(sock) {
		t.Fatalf("%s does not exist", sock)
	}
	for _, tt := range tests {
		healthy.Store(tt.healthy)
		have, err := v1Client(tt.req)
		if err != nil {
			t.Fatalf("v1 client, %q: %v", tt.req, err)
		}
		if have != tt.want {
			t.Errorf("v1 client, %q: reply %q, want %q", tt.req, have, tt.want)
		}
	}
	s.Stop()
	if exists(sock) || exists(".hc-socket") {
		t.Errorf("left behind: socket %v, .hc-socket %v", exists(sock), exists(".hc-socket"))
	}
}

// TestNameFileWhereInitRan: v1.0.x wrote .hc-socket in Init, in the working
// directory of that moment, and a program that changes directory before
// Start had its name file there, where its -healthcheck runs. The old code
// wrote it in Start's working directory, and that client found none.
func TestNameFileWhereInitRan(t *testing.T) {
	t.Setenv(common.EnvNameFile, "")
	t.Setenv(common.EnvSocketDir, "")
	started := t.TempDir()
	t.Chdir(started)
	var s HealthcheckServer
	s.Init()
	if err := os.Chdir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	startServer(t, &s)
	if err := os.Chdir(started); err != nil {
		t.Fatal(err)
	}
	if have, err := v1Client("ping"); err != nil || have != "healthy" {
		t.Errorf("v1 client where Init ran: %q, %v; want healthy", have, err)
	}
}
