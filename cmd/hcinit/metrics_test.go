package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

func httpGetBody(ctx context.Context, u string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %s: %s", u, resp.Status, b)
	}
	return b, resp.Header.Get("Content-Type"), err
}

// TestMetricsPrometheus: a real Prometheus (Debian's package, on loopback)
// scrapes hcinit's /metrics, and the values it stored are the ones hcinit's
// own status reports: a restart with exit code 3, an orphan reaped, a HUP
// forwarded, a failing check. promtool accepts the exposition.
func TestMetricsPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("prometheus not installed (scripts/deps.sh installs it)")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not installed (scripts/deps.sh installs it)")
	}
	t.Parallel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "hc.sock")
	httpAddr := freePort(t)
	closed := freePort(t)
	flag := filepath.Join(dir, "started-once")
	// First run: leave an orphan behind, exit 3. Second run: ignore HUP, stay.
	script := `trap "" HUP; if [ -e ` + flag + ` ]; then exec sleep 120; fi; touch ` + flag + `; (sleep 0.1 &); exit 3`
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--http", httpAddr, "--restart", "on-failure",
		"--restart-delay", "100ms", "--check", "tcp://" + closed + ",name=db,interval=200ms,retries=1",
		"--check", "process,interval=200ms", "--", "sh", "-c", script})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitStatus(sock, 15*time.Second, "restarted child with checks", func(st health.Status) bool {
		return st.Restarts == 1 && st.ChildPID > 0 && len(st.Checks) == 2 && st.Checks[0].Status == health.StatusUnhealthy &&
			st.Checks[1].Status == health.StatusHealthy
	}); err != nil {
		t.Fatal(err)
	}
	if err := p.signal(unix.SIGHUP); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	body, ctype, err := httpGetBody(ctx, "http://"+httpAddr+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ctype)
	}
	check := exec.CommandContext(ctx, promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(body)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s\n--- exposition:\n%s", err, out, body)
	}

	promAddr := freePort(t)
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hcinit
    static_configs:
      - targets: ["`+httpAddr+`"]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	pp, err := spawn(t, []string{prom, "--config.file=" + cfg, "--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + promAddr})
	if err != nil {
		t.Fatal(err)
	}

	// query asks Prometheus for an instant vector until it has a sample.
	query := func(q string) (float64, error) {
		deadline := time.Now().Add(40 * time.Second)
		for {
			v, err := promQuery(ctx, promAddr, q)
			if err == nil {
				return v, nil
			}
			if time.Now().After(deadline) || pp.exited() {
				return 0, fmt.Errorf("query %s: %v%s", q, err, pp.stderrNote())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for _, tc := range []struct {
		query string
		want  func(float64) bool
		what  string
	}{
		{`up{job="hcinit"}`, eq(1), "1 (the scrape succeeded)"},
		{`hcinit_child_restarts_total`, eq(1), "1"},
		{`hcinit_child_last_exit_code`, eq(3), "3"},
		{`hcinit_child_up`, eq(1), "1"},
		{`hcinit_zombies_reaped_total`, atLeast(1), "≥ 1"},
		{`hcinit_signals_forwarded_total{signal="SIGHUP"}`, eq(1), "1"},
		{`hcinit_check_status{check="db",status="unhealthy"}`, eq(1), "1"},
		{`hcinit_check_status{check="process",status="healthy"}`, eq(1), "1"},
		{`hcinit_check_failures_total{check="db"}`, atLeast(1), "≥ 1"},
		{`hcinit_check_runs_total{check="process"} - hcinit_check_failures_total{check="process"}`, atLeast(1), "≥ 1"},
		{`hcinit_check_last_duration_seconds{check="db"}`, func(v float64) bool { return v > 0 && v < 5 }, "in (0, 5)"},
		{`time() - hcinit_check_last_change_timestamp_seconds{check="db"}`, func(v float64) bool { return v >= 0 && v < 120 }, "in [0, 120)"},
		{`hcinit_health_status{status="unhealthy"}`, eq(1), "1"},
		{`hcinit_live`, eq(0), "0"},
		{`count(hcinit_build_info{version!="",goversion=~"go.+"})`, eq(1), "1"},
	} {
		v, err := query(tc.query)
		if err != nil {
			t.Error(err)
			continue
		}
		if !tc.want(v) {
			t.Errorf("%s = %v, want %s", tc.query, v, tc.what)
		}
	}
}

func eq(want float64) func(float64) bool { return func(v float64) bool { return v == want } }
func atLeast(n float64) func(float64) bool {
	return func(v float64) bool { return v >= n }
}

// promQuery runs an instant query through Prometheus' HTTP API and returns the
// single sample's value.
func promQuery(ctx context.Context, addr, q string) (float64, error) {
	body, _, err := httpGetBody(ctx, "http://"+addr+"/api/v1/query?query="+url.QueryEscape(q))
	if err != nil {
		return 0, err
	}
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, fmt.Errorf("%v: %s", err, body)
	}
	if r.Status != "success" || len(r.Data.Result) != 1 {
		return 0, fmt.Errorf("want one sample, have %s", body)
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}
