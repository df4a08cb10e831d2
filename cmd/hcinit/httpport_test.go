package main

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHTTPPortInUse: --http on a port someone else holds is a start-up error,
// before the fork: a kubelet httpGet probe on that port would otherwise be
// answered by whoever holds it (perhaps "200 OK") while hcinit ran on without
// its endpoint. Docker refuses a container whose published port is taken; a
// systemd socket unit whose port is taken fails. The old code logged the
// error and started the child.
func TestHTTPPortInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	marker := filepath.Join(dir, "child-ran")
	cmd := exec.Command(hcinitBin(), "--socket", filepath.Join(dir, "hc.sock"), "--http", ln.Addr().String(),
		"--", "/bin/sh", "-c", "touch "+marker+"; sleep 1000")
	cmd.WaitDelay = 10 * time.Second
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("hcinit still runs with --http on a taken port; output:\n%s", out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Errorf("exit %v, want status 2 (a start-up error); output:\n%s", err, out)
	}
	for _, want := range []string{"--http " + ln.Addr().String(), "address already in use"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the child was started")
	}
}

// TestHTTPEmptyDisables: `--http ""` turns the endpoint off, beating
// HCINIT_HTTP from the image's environment — what a second hcinit in the same
// container (`docker exec ctr hcinit -- job`, which inherits the image's ENV)
// needs now that a taken port stops hcinit. The old code refused "".
func TestHTTPEmptyDisables(t *testing.T) {
	env := map[string]string{"HCINIT_HTTP": ":8081"}
	cfg, err := parseArgs([]string{"--http", "", "app"}, func(k string) string { return env[k] })
	if err != nil || cfg.Health.HTTPAddr != "" {
		t.Errorf(`--http "": %v, address %q; want no endpoint`, err, cfg.Health.HTTPAddr)
	}
	cfg, err = parseArgs([]string{"app"}, func(k string) string { return env[k] })
	if err != nil || cfg.Health.HTTPAddr != ":8081" {
		t.Errorf("HCINIT_HTTP: %v, address %q", err, cfg.Health.HTTPAddr)
	}
}
