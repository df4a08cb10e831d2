package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// runHcinit runs hcinit with args to its end and returns stdout, stderr and
// the exit code.
func runHcinit(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	c := exec.CommandContext(ctx, hcinitBin(), args...)
	c.Stdout, c.Stderr = &out, &errb
	c.Env = append(append(os.Environ(), ownSocket()), env...)
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.Exited():
		return out.String(), errb.String(), ee.ExitCode()
	case err != nil:
		t.Fatalf("hcinit %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), 0
}

// TestConfigFileChecks: a config file gives what one-line specs express
// badly — kubelet's httpHeaders (Host included), a body with commas, an exec
// argv with spaces — and the command; the real checks pass against a real
// server only with all of it intact.
func TestConfigFileChecks(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "app.internal" || r.Header.Get("X-Probe") != "a, b" || r.Header.Get("Authorization") != "Bearer t0k" {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("status: ok, ready\n"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hcinit.yaml")
	if err := os.WriteFile(cfg, []byte(`# hcinit.yaml
interval: 200ms
retries: 1
command: [sleep, "120"]
checks:
  - type: http
    name: web
    url: `+srv.URL+`/healthz
    body: "ok, ready"
    httpHeaders:
      - {name: Host, value: app.internal}
      - {name: X-Probe, value: "a, b"}
      - {name: Authorization, value: Bearer t0k}
  - type: exec
    name: argv
    command: [sh, -c, 'test "$0" = "a b"', "a b"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "hc.sock")
	if _, err := spawn(t, []string{hcinitBin(), "--config", cfg, "--socket", sock}); err != nil {
		t.Fatal(err)
	}
	st, err := waitStatus(sock, 10*time.Second, "both checks healthy", func(st health.Status) bool {
		return len(st.Checks) == 2 && st.Checks[0].Status == health.StatusHealthy && st.Checks[1].Status == health.StatusHealthy
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Checks[0].Name != "web" || st.Checks[1].Name != "argv" {
		t.Errorf("check names %q, %q", st.Checks[0].Name, st.Checks[1].Name)
	}

	// --print-config: the effective configuration, the token redacted, the
	// command line over the environment over the file.
	out, errOut, code := runHcinit(t, []string{"HCINIT_INTERVAL=3s", "HCINIT_RETRIES=4"}, "--config", cfg, "--retries", "6", "--print-config")
	if code != 0 {
		t.Fatalf("--print-config: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"interval: 3s\n", "retries: 6\n", "{name: Authorization, value: '***'}", "command: [sleep, \"120\"]"} {
		if !strings.Contains(out, want) {
			t.Errorf("--print-config lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "t0k") {
		t.Errorf("--print-config shows the token:\n%s", out)
	}

	// An unknown key is a usage error naming its line.
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("interval: 1s\nchecks:\n  - type: tcp\n    adr: 127.0.0.1:1\n"), 0o644)
	_, errOut, code = runHcinit(t, nil, "--config", bad, "--", "true")
	if code != 2 || !strings.Contains(errOut, `config `+bad+`: line 4: checks[0]: unknown key "adr"`) {
		t.Errorf("bad config: exit %d, stderr %q; want 2 and the line", code, errOut)
	}
}

// TestConfigMapExample: the hcinit.yaml in examples/kubernetes'
// ConfigMap variant is a valid configuration with the checks it describes.
func TestConfigMapExample(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "kubernetes", "deployment-configmap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var file string
	for {
		var doc struct {
			Kind string
			Data map[string]string
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if doc.Kind == "ConfigMap" {
			file = doc.Data["hcinit.yaml"]
		}
	}
	if file == "" {
		t.Fatal("no ConfigMap with hcinit.yaml in deployment-configmap.yaml")
	}
	cfg := filepath.Join(t.TempDir(), "hcinit.yaml")
	if err := os.WriteFile(cfg, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runHcinit(t, nil, "--config", cfg, "--print-config")
	if code != 0 {
		t.Fatalf("--print-config: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"command: [/app]", "name: port", "name: health", "{name: X-Probe, value: hcinit}", "drain-delay: 5s"} {
		if !strings.Contains(out, want) {
			t.Errorf("effective configuration lacks %q:\n%s", want, out)
		}
	}
}
