package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wisdom-oss/go-healthcheck/supervisor"
	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hcinit.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func envOf(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

const sampleConfig = `# a complete example
interval: 2s
retries: 5
on-unhealthy: restart
http: "127.0.0.1:0"
rewrite: [USR1:TERM]
map-exit: [143]
single-child: true
command: [/app, --port, "8080"]
checks:
  - type: http
    name: web
    url: http://127.0.0.1:8080/healthz
    level: ready
    body: "ok, ready"
    httpHeaders:
      - name: X-Probe
        value: "a, b"
      - name: Authorization
        value: Bearer secret
  - type: exec
    name: pg
    command: [/usr/bin/pg_isready, -d, "dbname=app user=probe"]
  - grpc://127.0.0.1:50051/app,level=live
`

func TestConfigFile(t *testing.T) {
	path := writeConfig(t, sampleConfig)
	c, err := parseArgs([]string{"--config", path}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Health.Interval != 2*time.Second || c.Health.Retries != 5 || c.OnUnhealthy != supervisor.OnUnhealthyRestart || !c.SingleChild ||
		c.Rewrite[unix.SIGUSR1] != unix.SIGTERM || !c.MapToZero[143] {
		t.Errorf("settings: %+v", c)
	}
	if strings.Join(c.Command, " ") != "/app --port 8080" {
		t.Errorf("command %q", c.Command)
	}
	if len(c.Health.Checks) != 3 {
		t.Fatalf("%d checks, want 3", len(c.Health.Checks))
	}
	web, pg, grpc := c.Health.Checks[0], c.Health.Checks[1], c.Health.Checks[2]
	if web.Kind != health.KindHTTP || web.Body != "ok, ready" || web.Level != health.LevelReady ||
		len(web.Headers) != 2 || web.Headers[0] != (health.Header{Name: "X-Probe", Value: "a, b"}) {
		t.Errorf("http check: %+v", web)
	}
	if want := []string{"/usr/bin/pg_isready", "-d", "dbname=app user=probe"}; strings.Join(pg.Argv, "|") != strings.Join(want, "|") {
		t.Errorf("exec argv %q, want %q", pg.Argv, want)
	}
	if grpc.Kind != health.KindGRPC || grpc.Service != "app" || grpc.Level != health.LevelLive {
		t.Errorf("one-line check: %+v", grpc)
	}

	// A JSON document is YAML too.
	jpath := writeConfig(t, `{"interval": "3s", "checks": [{"type": "tcp", "addr": "127.0.0.1:5432"}], "command": ["/app"]}`)
	c, err = parseArgs([]string{"--config", jpath}, envOf(nil))
	if err != nil || c.Health.Interval != 3*time.Second || len(c.Health.Checks) != 1 || c.Health.Checks[0].Addr != "127.0.0.1:5432" {
		t.Errorf("JSON config: %+v, %v", c, err)
	}
}

// One rule: command line > environment > file > defaults; a list is replaced whole.
func TestConfigPrecedence(t *testing.T) {
	path := writeConfig(t, sampleConfig)
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		interval time.Duration
		retries  int
		checks   int // file checks left
		flags    int // --check values
		command  string
	}{
		{"file", []string{"--config", path}, nil, 2 * time.Second, 5, 3, 0, "/app --port 8080"},
		{"env over file", []string{"--config", path}, map[string]string{"HCINIT_INTERVAL": "4s"}, 4 * time.Second, 5, 3, 0, "/app --port 8080"},
		{"flag over env", []string{"--config", path, "--interval", "6s"}, map[string]string{"HCINIT_INTERVAL": "4s"}, 6 * time.Second, 5, 3, 0, "/app --port 8080"},
		{"file from env", nil, map[string]string{"HCINIT_CONFIG": path, "HCINIT_RETRIES": "7"}, 2 * time.Second, 7, 3, 0, "/app --port 8080"},
		{"flag checks replace the file's", []string{"--config", path, "--check", "tcp://127.0.0.1:1"}, nil, 2 * time.Second, 5, 0, 1, "/app --port 8080"},
		{"env checks replace the file's", []string{"--config", path}, map[string]string{"HCINIT_CHECK": "process"}, 2 * time.Second, 5, 0, 1, "/app --port 8080"},
		{"command line command", []string{"--config", path, "--", "/bin/other"}, nil, 2 * time.Second, 5, 3, 0, "/bin/other"},
		{"defaults without a file", []string{"/bin/x"}, nil, 10 * time.Second, 3, 0, 0, "/bin/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseArgs(tc.args, envOf(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			have := []any{c.Health.Interval, c.Health.Retries, len(c.Health.Checks), len(c.Health.Specs), strings.Join(c.Command, " ")}
			want := []any{tc.interval, tc.retries, tc.checks, tc.flags, tc.command}
			for i := range have {
				if have[i] != want[i] {
					t.Errorf("have interval, retries, file checks, flag checks, command = %v; want %v", have, want)
					break
				}
			}
		})
	}
	// --print-config is a command, not a setting: no environment twin turns
	// a running hcinit into a printer.
	if c, err := parseArgs([]string{"/bin/x"}, envOf(map[string]string{"HCINIT_PRINT_CONFIG": "true"})); err != nil || c.PrintConfig {
		t.Errorf("HCINIT_PRINT_CONFIG=true: print %v, %v", c.PrintConfig, err)
	}
	// Lists: a --rewrite replaces the file's rewrites.
	c, err := parseArgs([]string{"--config", path, "--rewrite", "HUP:TERM"}, envOf(nil))
	if err != nil || len(c.Rewrite) != 1 || c.Rewrite[unix.SIGHUP] != unix.SIGTERM {
		t.Errorf("rewrite: %v, %v", c.Rewrite, err)
	}
}

func TestConfigFileErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"interval: 2s\nbogus: 1\n", `line 2: unknown key "bogus"`},
		{"check: process\n", `line 1: unknown key "check" (checks: is a list)`},
		{"interval: soon\n", "line 1: interval: "},
		{"retries: [1]\n", "line 1: retries: want a value, have a list"},
		{"checks:\n  - type: http\n    url: http://x:1/\n    headerz: []\n", `line 4: checks[0]: unknown key "headerz"`},
		{"checks:\n  - type: http\n    url: http://u:pw@x:1/\n    interval: nope\n", "line 2: checks[0]: interval: "},
		{"checks:\n  - type: exec\n    command: /bin/probe -q\n", "line 3: checks[0]: command: want a list of strings"},
		{"checks:\n  - type: tcp\n    addr: x:1\n    httpHeaders: [{name: A, value: b}]\n", `line 2: checks[0]: key "httpHeaders" does not apply to a tcp check`},
		{"checks:\n  - type: http\n    url: http://x:1/\n    httpHeaders:\n      - {name: A, valu: b}\n", `line 5: checks[0]: httpHeaders: line 5: unknown key "valu"`},
		{"checks:\n  - http://u:pw@x:1/,level=sometimes\n", "line 2: checks[0]: "},
		{"interval: 2s\ninterval: 3s\n", `line 2: "interval" given twice`},
		{"checks:\n  - type: http\n    url: http://x:1/\n    httpHeaders:\n      - {name: A, value: b, value: c}\n", `line 5: checks[0]: httpHeaders: line 5: "value" given twice`},
		{"- a\n- b\n", "line 1: want a mapping of settings"},
		{"checks:\n  - type: http\n    url: http://x:1/\n    body: null\n", `line 4: checks[0]: body: null is YAML's null`},
		{"checks:\n  - {type: http, url: \"http://x:1/\", body: ~}\n", `line 2: checks[0]: body: ~ is YAML's null`},
		{"checks:\n  - type: http\n    url: http://x:1/\n    httpHeaders: [{name: A, value: NULL}]\n", `checks[0]: httpHeaders: line 4: value: NULL is YAML's null`},
		{"interval: [\n", "config "},
	} {
		_, err := parseArgs([]string{"--config", writeConfig(t, tc.text), "/bin/true"}, envOf(nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: have error %v, want %q", tc.text, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("config %q: error shows a password: %v", tc.text, err)
		}
	}
	if _, err := parseArgs([]string{"--config", "/nonexistent/hcinit.yaml", "/bin/true"}, envOf(nil)); err == nil ||
		!strings.Contains(err.Error(), "/nonexistent/hcinit.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// --print-config prints what Parse decided, readable back as a config file,
// with secrets redacted.
func TestPrintConfig(t *testing.T) {
	path := writeConfig(t, strings.Replace(sampleConfig, "http://127.0.0.1:8080/healthz", "http://probe:hunter2@127.0.0.1:8080/healthz", 1))
	c, err := parseArgs([]string{"--config", path, "--retries", "9", "--print-config"}, envOf(map[string]string{"HCINIT_TIMEOUT": "7s"}))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printConfig(&out, c); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, bad := range []string{"hunter2", "Bearer secret"} {
		if strings.Contains(text, bad) {
			t.Errorf("--print-config shows the secret %q:\n%s", bad, text)
		}
	}
	for _, want := range []string{"retries: 9\n", "timeout: 7s\n", "interval: 2s\n", "probe:***@", "value: '***'", "a, b"} {
		if !strings.Contains(text, want) {
			t.Errorf("--print-config lacks %q:\n%s", want, text)
		}
	}
	// Read back (with the redacted secrets), it is the same configuration.
	back, err := parseArgs([]string{"--config", writeConfig(t, text)}, envOf(nil))
	if err != nil {
		t.Fatalf("--print-config output does not parse: %v\n%s", err, text)
	}
	if back.Health.Retries != 9 || back.Health.Timeout != 7*time.Second || len(back.Health.Checks) != 3 || back.Health.Checks[1].Argv[2] != "dbname=app user=probe" {
		t.Errorf("read back: %+v", back)
	}
}

// TestDocumentedConfigs: the config file examples of the README and of
// --help are read, with every check they show.
func TestDocumentedConfigs(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, _ := strings.Cut(string(readme), "```yaml\n# /etc/hcinit/hcinit.yaml\n")
	example, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatal("README's config file example not found")
	}
	_, help, _ := strings.Cut(configSyntax, "\n    http:")
	help, _, _ = strings.Cut("    http:"+help, "\n  One precedence")
	for _, tc := range []struct {
		name, text string
		checks     int
	}{{"README", example, 4}, {"--help", strings.ReplaceAll(help, "\n    ", "\n")[4:], 3}} {
		c, err := parseArgs([]string{"--config", writeConfig(t, tc.text), "/bin/true"}, envOf(nil))
		if err != nil {
			t.Errorf("%s example: %v\n%s", tc.name, err, tc.text)
			continue
		}
		if len(c.Health.Checks) != tc.checks || c.Health.Checks[0].Kind != health.KindHTTP || len(c.Health.Checks[0].Headers) == 0 {
			t.Errorf("%s example: checks %+v", tc.name, c.Health.Checks)
		}
	}
}
