//go:build !windows

package hcclient

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
)

// TestAskReplyMustEnd: `hcinit check` believes a reply only once the server
// ended it by closing, within the deadline and the limit. Before, a server
// that wrote "healthy" and kept the connection open made check exit 0 at its
// deadline, and one that wrote "healthy" and blanks past 4096 bytes made it
// exit 0 at once (the blanks were trimmed): either may have gone on with
// anything.
func TestAskReplyMustEnd(t *testing.T) {
	dir := shortDir(t)
	servers := map[string]func(c net.Conn) string{
		"never ends": func(c net.Conn) string {
			c.Read(make([]byte, 16))
			c.Write([]byte("healthy"))
			time.Sleep(2 * time.Second) // past the client's deadline
			return ""
		},
		"longer than the limit": func(c net.Conn) string {
			c.Read(make([]byte, 16))
			c.Write([]byte("healthy" + strings.Repeat(" ", common.BufferSize)))
			return ""
		},
		"whole": v1Handler("healthy\n"),
	}
	for name, handle := range servers {
		addr := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".sock")
		fakeServer(t, addr, handle)
		start := time.Now()
		reply, err := Ask(time.Now().Add(time.Second), []string{addr}, WordPing, common.BufferSize)
		took := time.Since(start)
		switch {
		case name == "whole" && (err != nil || reply != "healthy"):
			t.Errorf("%s: %q, %v; want healthy", name, reply, err)
		case name != "whole" && err == nil:
			t.Errorf("%s: %q believed after %s", name, reply, took.Round(time.Millisecond))
		case took > 3*time.Second:
			t.Errorf("%s: took %s with a 1s deadline", name, took)
		}
	}
}
