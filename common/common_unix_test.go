//go:build !windows

package common

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadNameFileFIFO: a supervised child may replace the name file with a
// FIFO; reading it must fail at once, not block until a writer opens it.
func TestReadNameFileFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".hc-socket")
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	type result struct {
		name string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		name, err := ReadNameFile(path)
		done <- result{name, err}
	}()
	select {
	case have := <-done:
		if have.err == nil || !strings.Contains(have.err.Error(), "not a regular file") {
			t.Errorf("ReadNameFile(FIFO) = %q, %v; want a \"not a regular file\" error", have.name, have.err)
		}
	case <-time.After(2 * time.Second):
		// Unblock the reader (an open for writing completes its open) so the
		// goroutine ends with the test.
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		t.Fatal("ReadNameFile on a FIFO still blocked after 2s")
	}
}
