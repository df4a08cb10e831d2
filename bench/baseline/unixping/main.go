// Command unixping is the baseline for `hcinit check`: the least a static Go
// program can do to ask a go-healthcheck v1 socket. It dials the unix socket
// given as its argument, writes "ping", reads the answer, prints it and exits 0
// when the answer is "healthy", else 1.
package main

import (
	"io"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 2 {
		os.Stderr.WriteString("usage: unixping SOCKET\n")
		os.Exit(1)
	}
	c, err := net.DialTimeout("unix", os.Args[1], 5*time.Second)
	if err != nil {
		os.Stdout.WriteString("unhealthy: " + err.Error() + "\n")
		os.Exit(1)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "ping"); err == nil {
		c.(*net.UnixConn).CloseWrite()
	}
	b, _ := io.ReadAll(io.LimitReader(c, 4096))
	answer := strings.TrimSpace(string(b))
	os.Stdout.WriteString(answer + "\n")
	if answer != "healthy" {
		os.Exit(1)
	}
}
