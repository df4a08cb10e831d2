//go:build !windows

package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/common"
	"github.com/wisdom-oss/go-healthcheck/server"
)

const wait = 5 * time.Second

// clearEnv makes the environment that of a plain v1.0.x deployment.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{common.EnvSocket, common.EnvNameFile, common.EnvSocketDir} {
		t.Setenv(k, "")
	}
}

// startServer runs a real server whose name file is .hc-socket in a fresh
// working directory and whose socket is in /tmp, like v1.0.x. It returns the
// working directory.
func startServer(t *testing.T, check func() error) (workDir string) {
	t.Helper()
	clearEnv(t)
	workDir = t.TempDir()
	t.Setenv(common.EnvNameFile, filepath.Join(workDir, common.HealthcheckSocketNameFile))
	var s server.HealthcheckServer
	s.InitWithFunc(check)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Setenv(common.EnvNameFile, "")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.Run()
	}()
	t.Cleanup(func() {
		s.Stop()
		wg.Wait()
	})
	return workDir
}

// v1Server is a go-healthcheck v1.0.x server, byte for byte: it writes a
// 16-character name into .hc-socket in the working directory, listens on
// /tmp/<name>.sock, and per connection reads one message (10 s deadline),
// replies, and closes.
func v1Server(t *testing.T, reply string) {
	t.Helper()
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	name := string(b)
	if err := os.WriteFile(common.HealthcheckSocketNameFile, []byte(name), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", "/tmp/"+name+".sock")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 4096)
			n, err := conn.Read(buf)
			if err == nil {
				if strings.TrimSpace(string(buf[:n])) != "ping" {
					conn.Write([]byte("send 'ping' to trigger healthcheck"))
				} else {
					conn.Write([]byte(reply))
				}
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close() // unlinks /tmp/<name>.sock
		wg.Wait()
	})
}

func TestRun(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		server    func(t *testing.T) // nil: no server
		handled   bool
		code      int
		stdout    string
		stderrHas string
	}{
		{"no flag", []string{"-port", "8080"}, nil, false, 0, "", ""},
		{"flag among others", []string{"-v", "-healthcheck", "x"}, func(t *testing.T) {
			t.Chdir(startServer(t, nil))
		}, true, 0, PassedMessage + "\n", ""},
		{"unhealthy", []string{"-healthcheck"}, func(t *testing.T) {
			t.Chdir(startServer(t, func() error { return errors.New("queue stalled") }))
		}, true, 1, "", "queue stalled\n"},
		{"no server", []string{"-healthcheck"}, func(t *testing.T) {
			clearEnv(t)
			t.Chdir(t.TempDir())
		}, true, 1, "", "healthcheck failed: "}, // no name file; hcinit's @hcinit may answer "starting" when other tests run one
		{"env socket", []string{"-healthcheck"}, func(t *testing.T) {
			dir := startServer(t, nil)
			name, err := common.ReadNameFile(filepath.Join(dir, common.HealthcheckSocketNameFile))
			if err != nil {
				t.Fatal(err)
			}
			t.Chdir(t.TempDir()) // no name file here
			t.Setenv(common.EnvSocket, "/tmp/"+name+".sock")
		}, true, 0, PassedMessage + "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.server != nil {
				tt.server(t)
			}
			var stdout, stderr bytes.Buffer
			code, handled := run(tt.args, &stdout, &stderr)
			if handled != tt.handled || code != tt.code {
				t.Errorf("run = %d, %v; want %d, %v (stderr %q)", code, handled, tt.code, tt.handled, stderr.String())
			}
			if stdout.String() != tt.stdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderrHas) || (tt.stderrHas == "" && stderr.Len() > 0) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.stderrHas)
			}
		})
	}
}

// Our client against a v1.0.x server.
func TestV1ServerCompat(t *testing.T) {
	for _, tt := range []struct {
		reply  string
		code   int
		stdout string
		stderr string
	}{
		{"healthy", 0, PassedMessage + "\n", ""},
		{"redis: connection refused", 1, "", "redis: connection refused\n"},
	} {
		t.Run(tt.reply, func(t *testing.T) {
			clearEnv(t)
			t.Chdir(t.TempDir())
			v1Server(t, tt.reply)
			var stdout, stderr bytes.Buffer
			code, _ := run([]string{"-healthcheck"}, &stdout, &stderr)
			if code != tt.code || stdout.String() != tt.stdout || stderr.String() != tt.stderr {
				t.Errorf("run = %d, stdout %q, stderr %q; want %d, %q, %q",
					code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	dir := startServer(t, nil)
	nameFile := filepath.Join(dir, common.HealthcheckSocketNameFile)
	name, err := common.ReadNameFile(nameFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := Check(ctx, WithNameFile(nameFile)); err != nil {
		t.Errorf("Check(WithNameFile) = %v", err)
	}
	if err := Check(ctx, WithSocket("/tmp/"+name+".sock")); err != nil {
		t.Errorf("Check(WithSocket) = %v", err)
	}
	if err := Check(ctx, WithNameFile(nameFile), WithSocketDir("/nonexistent")); err == nil {
		t.Error("Check with the wrong socket dir succeeded")
	}
	reply, err := Probe(ctx, WithNameFile(nameFile), WithRequest("status"))
	if err != nil || reply != common.InvalidRequestResponse {
		t.Errorf("Probe(status) = %q, %v", reply, err)
	}
}

func TestCheckUnhealthy(t *testing.T) {
	dir := startServer(t, func() error { return errors.New("disk full") })
	err := Check(context.Background(), WithNameFile(filepath.Join(dir, common.HealthcheckSocketNameFile)))
	var ue *UnhealthyError
	if !errors.As(err, &ue) || ue.Reply != "disk full" {
		t.Fatalf("Check = %v, want UnhealthyError{disk full}", err)
	}
}

func TestCheckTimeout(t *testing.T) {
	dir, err := os.MkdirTemp("", "hcc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	addr := filepath.Join(dir, "silent.sock")
	ln, err := net.Listen("unix", addr) // accepts (via the backlog) but never answers
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	err = Check(context.Background(), WithSocket(addr), WithTimeout(100*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Check = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Check took %v", d)
	}
}

// buildApp builds testdata/app, a main that blank-imports this package.
func buildApp(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	bin := filepath.Join(t.TempDir(), "app")
	cmd := exec.Command(goTool, "build", "-o", bin, "./testdata/app")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The blank import answers -healthcheck before main runs.
func TestBinary(t *testing.T) {
	bin := buildApp(t)
	healthyDir := startServer(t, nil)
	emptyDir := t.TempDir()
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HEALTHCHECK_") {
			env = append(env, kv)
		}
	}
	tests := []struct {
		name   string
		dir    string
		args   []string
		code   int
		stdout string
		stderr string // substring
	}{
		{"healthy", healthyDir, []string{"-healthcheck"}, 0, PassedMessage + "\n", ""},
		{"flag among others", healthyDir, []string{"--port", "80", "-healthcheck"}, 0, PassedMessage + "\n", ""},
		{"no server", emptyDir, []string{"-healthcheck"}, 1, "", "healthcheck failed"},
		{"no flag", healthyDir, []string{"--port", "80"}, 0, "main ran\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), wait*3)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tt.args...)
			cmd.Dir, cmd.Env = tt.dir, env
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code || stdout.String() != tt.stdout || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, stderr containing %q",
					code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
		})
	}
}
