//go:build !windows

package server

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
)

// wait is the bound of every wait in these tests.
const wait = 5 * time.Second

// isolate points the name file and the socket directory at fresh temporary
// places and returns them. The socket directory is short so paths fit
// sun_path.
func isolate(t *testing.T) (nameFile, sockDir string) {
	t.Helper()
	nameFile = filepath.Join(t.TempDir(), common.HealthcheckSocketNameFile)
	sockDir, err := os.MkdirTemp("", "hc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	t.Setenv(common.EnvNameFile, nameFile)
	t.Setenv(common.EnvSocketDir, sockDir)
	return nameFile, sockDir
}

// startServer starts s (already initialised by the caller), runs it, and
// stops it at cleanup, failing if Run does not return.
func startServer(t *testing.T, s *HealthcheckServer) (addr string) {
	t.Helper()
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		s.Run()
	}()
	t.Cleanup(func() {
		s.Stop()
		select {
		case <-ran:
		case <-time.After(wait):
			t.Errorf("Run did not return within %v of Stop", wait)
		}
	})
	return s.sock
}

// exchange sends req and reads the reply until the server closes.
func exchange(t *testing.T, addr, req string) string {
	t.Helper()
	reply, err := tryExchange(addr, req)
	// A server that closes with part of a long request unread resets the
	// connection after its reply; the reply still arrives first.
	if err != nil && !(reply != "" && errors.Is(err, syscall.ECONNRESET)) {
		t.Fatalf("exchange %.40q: %v", req, err)
	}
	return reply
}

func tryExchange(addr, req string) (string, error) {
	c, err := net.DialTimeout("unix", addr, wait)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c, req); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// eventually polls cond until it holds or wait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
