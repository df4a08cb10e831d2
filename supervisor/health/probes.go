package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/internal/hcclient"
	"github.com/wisdom-oss/go-healthcheck/internal/proc"
	"github.com/wisdom-oss/go-healthcheck/internal/sigs"
)

// newCheck resolves sp's defaults and builds its probe.
func (m *Monitor) newCheck(sp Spec) (*check, error) {
	sp = m.resolve(sp)
	c := &check{spec: sp, wake: make(chan struct{}, 1)}
	c.st.reset()
	defer func() { c.describe = redactURLs(c.describe) }() // status and logs show it
	switch sp.Kind {
	case KindProcess:
		c.describe = "the child process"
		c.probe = m.probeProcess
	case KindTCP:
		c.describe = sp.Addr
		c.probe = func(ctx context.Context) outcome { return probeTCP(ctx, sp.Addr) }
	case KindGRPC:
		c.describe = sp.Addr
		if sp.Service != "" {
			c.describe += " service " + sp.Service
		}
		c.probe = newGRPCProbe(sp)
	case KindHTTP, KindHTTPS:
		c.describe = sp.URL
		c.probe = newHTTPProbe(sp, "hcinit/"+m.version())
	case KindFile:
		c.describe = sp.Path
		c.probe = func(context.Context) outcome { return probeFile(sp.Path, sp.MaxAge) }
	case KindExec:
		if m.cfg.Reaper == nil {
			return nil, fmt.Errorf("check %s: an exec check needs the reaper", sp.Name)
		}
		// Refused now what can never run: a missing or non-executable probe.
		if _, err := exec.LookPath(sp.Argv[0]); err != nil {
			return nil, fmt.Errorf("check %s: exec %s: %w", sp.Name, sp.Argv[0], errors.Unwrap(err))
		}
		c.describe = strings.Join(sp.Argv, " ")
		c.probe = func(ctx context.Context) outcome { return m.probeExec(ctx, sp.Argv) }
	case KindNotify:
		c.describe = "NOTIFY_SOCKET"
		c.probe = func(context.Context) outcome { return m.notify.probe(time.Now()) }
	case KindSignal:
		c.describe = sigs.Name(sp.Signal) + ", heartbeat " + sp.Heartbeat
		c.probe = func(ctx context.Context) outcome { return m.probeSignal(ctx, sp.Signal, sp.Heartbeat) }
	case KindDelegate:
		if sp.Addr != "" {
			c.addrs = []string{sp.Addr}
		}
		c.describe = "the child's health socket (not announced yet)"
		c.probe = func(ctx context.Context) outcome { return m.probeDelegate(ctx, c) }
	default:
		return nil, fmt.Errorf("check %s: unknown kind %q", sp.Name, sp.Kind)
	}
	return c, nil
}

// probeProcess passes while the child exists and is neither a zombie nor
// stopped, as /proc/<pid>/stat says.
func (m *Monitor) probeProcess(context.Context) outcome {
	pid := m.pid()
	if pid <= 0 {
		return fail("no child process")
	}
	p, err := proc.Stat(pid)
	if err != nil {
		return fail("child %d: %v", pid, err)
	}
	switch p.State {
	case 'Z', 'X', 'x':
		return fail("child %d is a zombie", pid)
	case 'T', 't':
		return fail("child %d is stopped", pid)
	}
	return pass("child %d is running (state %c)", pid, p.State)
}

func probeTCP(ctx context.Context, addr string) outcome {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fail("%v", err)
	}
	conn.Close()
	return pass("connected to %s", addr)
}

// probeFile passes when path exists and, with maxAge > 0, was modified within
// maxAge.
func probeFile(path string, maxAge time.Duration) outcome {
	fi, err := os.Stat(path)
	if err != nil {
		return fail("%v", err)
	}
	if maxAge == 0 {
		return pass("%s exists", path)
	}
	age := time.Since(fi.ModTime())
	if age > maxAge {
		return fail("%s last modified %s ago (max-age %s)", path, age.Round(time.Millisecond), maxAge)
	}
	return pass("%s modified %s ago", path, age.Round(time.Millisecond))
}

// probeSignal sends sig to the child and waits, within the check's timeout, for
// a heartbeat: any notify message, or a new mtime of the heartbeat file.
func (m *Monitor) probeSignal(ctx context.Context, sig unix.Signal, heartbeat string) outcome {
	pid := m.pid()
	if pid <= 0 {
		return fail("no child process")
	}
	send := func() error {
		if err := unix.Kill(pid, sig); err != nil {
			return fmt.Errorf("send %s to child %d: %w", sigs.Name(sig), pid, err)
		}
		return nil
	}
	if heartbeat == "notify" {
		if m.notify == nil {
			return fail("no NOTIFY_SOCKET")
		}
		sent := time.Now()
		changed := m.notify.changed()
		if err := send(); err != nil {
			return fail("%v", err)
		}
		for {
			select {
			case <-changed:
				if m.notify.lastMessage().After(sent) {
					return pass("notify message after %s", sigs.Name(sig))
				}
				changed = m.notify.changed()
			case <-ctx.Done():
				return fail("no notify message after %s", sigs.Name(sig))
			}
		}
	}

	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fail("watch heartbeat file: %v", err)
	}
	defer w.Close()
	dir := filepath.Dir(heartbeat)
	if err := w.Add(dir); err != nil {
		return fail("watch heartbeat file: %v", err)
	}
	mtime := func() time.Time {
		if fi, err := os.Stat(heartbeat); err == nil {
			return fi.ModTime()
		}
		return time.Time{}
	}
	before := mtime()
	if err := send(); err != nil {
		return fail("%v", err)
	}
	for {
		if t := mtime(); t.After(before) {
			return pass("%s touched after %s", heartbeat, sigs.Name(sig))
		}
		select {
		case <-w.Events:
		case <-w.Errors:
		case <-ctx.Done():
			return fail("%s not touched after %s", heartbeat, sigs.Name(sig))
		}
	}
}

// probeDelegate pings the child's own socket: the reply is "healthy" or the
// child's error text, which becomes the result's output.
func (m *Monitor) probeDelegate(ctx context.Context, c *check) outcome {
	m.mu.Lock()
	addrs := append([]string(nil), c.addrs...)
	m.mu.Unlock()
	if len(addrs) == 0 {
		return fail("the child has not announced a health socket")
	}
	addr := addrs[0]
	for _, a := range addrs {
		if _, err := os.Lstat(a); err == nil {
			addr = a
			break
		}
	}
	m.mu.Lock()
	announced := c.adopted
	m.mu.Unlock()
	dial := addr
	if announced {
		// The child's word: no symlink, the child's own socket.
		d, release, err := m.openAnnounced(addr)
		if err != nil {
			return fail("%v", err)
		}
		defer release()
		dial = d
	}
	reply, err := hcclient.Exchange(ctx, dial, common.HealthcheckIPCCommand, 0)
	if err != nil {
		return fail("%s", strings.ReplaceAll(err.Error(), dial, addr))
	}
	if reply != common.HealthcheckIPCResponse {
		return fail("%s", reply)
	}
	return pass("%s", reply)
}

// version is hcinit's version for the User-Agent of http checks.
func (m *Monitor) version() string {
	if m.cfg.Version == "" {
		return "dev"
	}
	return m.cfg.Version
}
