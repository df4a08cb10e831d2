package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Labels every object this suite makes carries; the run label lets the final
// sweep remove this run's leftovers without touching a concurrent run's.
const (
	labelKey    = "hcinit-e2e"
	labelRunKey = "hcinit-e2e.run"
)

// harness is what TestMain prepares: binaries, images and the run's identity.
type harness struct {
	root  string // module root
	run   string // this run's id
	tag   string // the tag of every image built here
	dir   string // scratch directory of the run
	bin   string // static binaries: hcinit, legacy-http, zcount, orphaner, sleeper, httpget, sigprint, sdnotify
	tools string // the test image: hcinit, the helpers and a literal HEALTHCHECK

	mu       sync.Mutex
	projects []string // compose projects to take down in the sweep
	stacks   []string // swarm stacks to remove in the sweep
	release  string   // the release image loaded with HCINIT_E2E_DIST, "" when built here
}

// The harness is set up by the first test that needs it, so a run that
// selects none of these tests (go test -run TestSnippets) builds nothing.
var (
	setupOnce  sync.Once
	suite      *harness // nil until set up, and when Docker is not available
	noDocker   string   // why Docker is not available
	setupErr   error    // Docker is there, but building binaries or images failed
	setupStart time.Time
)

func TestMain(m *testing.M) {
	flag.Parse()
	// These tests wait on Docker, not on the CPU: unless -parallel was given,
	// run them all at once instead of GOMAXPROCS at a time.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", "16")
	}
	code := m.Run()
	// The cluster goes before the images and containers it was loaded from.
	if err := stopKube(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: taking the Kubernetes cluster down: %v\n", err)
		code = 1
	}
	if suite != nil {
		suite.sweep()
		os.RemoveAll(suite.dir)
		fmt.Fprintf(os.Stderr, "e2e: run %s took %s (including setup and cleanup)\n", suite.run, time.Since(setupStart).Round(time.Second))
	}
	os.Exit(code)
}

// need returns the harness, setting it up on first use, or ends the test:
// skipped with -short or when Docker is missing (failed instead when $CI is
// set, as CI must have Docker), failed when setting up broke.
func need(t *testing.T) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: end-to-end tests need Docker and take a minute or two; skipped with -short")
	}
	setupOnce.Do(func() {
		setupStart = time.Now()
		suite, noDocker, setupErr = setup()
		if noDocker != "" {
			fmt.Fprintf(os.Stderr, "\n"+
				"###########################################################\n"+
				"### e2e: NOT RUN — %s\n"+
				"###########################################################\n\n", noDocker)
		}
	})
	switch {
	case suite != nil:
		return suite
	case setupErr != nil:
		t.Fatalf("e2e setup: %v", setupErr)
	case os.Getenv("CI") != "":
		t.Fatalf("e2e cannot run in CI: %s", noDocker)
	}
	t.Skipf("e2e NOT RUN: %s", noDocker)
	return nil
}

// setup finds the module, makes sure Docker runs and builds what the tests
// use. It returns the reason when Docker is not available, an error when
// anything else fails.
func setup() (*harness, string, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return nil, "", fmt.Errorf("module root not found above e2e: %w", err)
	}
	if err := ensureDocker(root); err != nil {
		return nil, err.Error(), nil
	}
	b := make([]byte, 4)
	rand.Read(b)
	run := hex.EncodeToString(b)
	dir, err := os.MkdirTemp("", "hcinit-e2e-")
	if err != nil {
		return nil, "", err
	}
	h := &harness{root: root, run: run, tag: "e2e-" + run, dir: dir, bin: filepath.Join(dir, "bin")}
	h.tools = "hcinit-e2e-tools:" + h.tag
	if err := h.build(); err != nil {
		h.sweep()
		os.RemoveAll(dir)
		return nil, "", err
	}
	return h, "", nil
}

// ensureDocker makes sure an engine answers, running scripts/deps.sh (which
// installs Debian's Docker engine and docker-compose and starts dockerd) once if not.
func ensureDocker(root string) error {
	if _, err := command(20*time.Second, "", nil, "docker", "info"); err == nil {
		return nil
	}
	fmt.Fprintln(os.Stderr, "e2e: no Docker engine answers; running scripts/deps.sh")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "deps.sh"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	depsErr := cmd.Run()
	if _, err := command(30*time.Second, "", nil, "docker", "info"); err != nil {
		return fmt.Errorf("Docker is not available (scripts/deps.sh: %v; docker info: %v)", depsErr, err)
	}
	return nil
}

// build compiles the static binaries, builds hcinit's and the examples' images
// with scripts/image.sh, and the tools image on top of hcinit's.
func (h *harness) build() error {
	start := time.Now()
	env := []string{"CGO_ENABLED=0"}
	if _, err := command(5*time.Minute, h.root, env, "go", "build", "-trimpath", "-ldflags=-s -w",
		"-o", h.bin+string(filepath.Separator),
		"./cmd/hcinit", "./examples/legacy-http", "./internal/testbin/zcount", "./internal/testbin/orphaner",
		"./internal/testbin/sleeper", "./internal/testbin/httpget", "./internal/testbin/pause",
		"./internal/testbin/sigprint", "./internal/testbin/sdnotify"); err != nil {
		return err
	}
	imageEnv := []string{
		"TAG=" + h.tag,
		"HCINIT_BIN=" + filepath.Join(h.bin, "hcinit"),
		"LABELS=" + labelKey + "=1 " + labelRunKey + "=" + h.run,
		"VERSION=" + h.tag,
	}
	if dist := os.Getenv("HCINIT_E2E_DIST"); dist != "" {
		if err := h.loadRelease(dist); err != nil {
			return err
		}
		imageEnv = append(imageEnv, "HCINIT_IMAGE_EXISTS=1")
	}
	if _, err := command(5*time.Minute, h.root, imageEnv, "bash", "scripts/image.sh", "--examples"); err != nil {
		return err
	}

	// The tools image: FROM hcinit's own image (so that works as a base too),
	// the helpers beside it, a WORKDIR that is not "/" (so docker exec -w /
	// differs from the child's directory), and the HEALTHCHECK the issue names,
	// with a timeout above hcinit check's own deadline (5 s): Docker's
	// timeout counts starting the probe too (runc exec), which took up to a
	// second on two loaded cores; what Docker records is then hcinit's answer.
	ctx := filepath.Join(h.dir, "tools")
	if err := os.MkdirAll(ctx, 0o755); err != nil {
		return err
	}
	files := map[string]string{"legacy-http": "app", "zcount": "zcount", "orphaner": "orphaner", "sleeper": "sleeper", "httpget": "httpget",
		"sigprint": "sigprint", "sdnotify": "sdnotify"}
	for from, to := range files {
		if err := copyFile(filepath.Join(h.bin, from), filepath.Join(ctx, to)); err != nil {
			return err
		}
	}
	dockerfile := "FROM hcinit:" + h.tag + "\n" +
		"COPY app zcount orphaner sleeper httpget sigprint sdnotify /\n" +
		"WORKDIR /work\n" +
		`HEALTHCHECK --interval=1s --timeout=10s --retries=2 CMD ["/hcinit","check"]` + "\n"
	if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	if err := h.buildImage(h.tools, ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "e2e: run %s: binaries and images built in %s\n", h.run, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// loadRelease makes the release `make release` wrote into dist the hcinit
// under test (HCINIT_E2E_DIST=dist, as CI sets it): its image tarball for
// this machine, loaded with `docker load` and tagged hcinit:TAG, and its
// binary in place of the one built above.
func (h *harness) loadRelease(dist string) error {
	name := map[string]string{"amd64": "amd64", "arm64": "arm64", "arm": "armhf", "386": "i386"}[runtime.GOARCH]
	if name == "" {
		name = runtime.GOARCH
	}
	if err := copyFile(filepath.Join(dist, "hcinit-"+name), filepath.Join(h.bin, "hcinit")); err != nil {
		return err
	}
	out, err := command(2*time.Minute, "", nil, "docker", "load", "-i", filepath.Join(dist, "hcinit-image-"+name+".tar"))
	if err != nil {
		return err
	}
	ref, ok := strings.CutPrefix(strings.TrimSpace(out), "Loaded image: ")
	if !ok || strings.Contains(ref, "\n") {
		return fmt.Errorf("docker load %s: %q, want one \"Loaded image: REF\"", dist, out)
	}
	if _, err := command(time.Minute, "", nil, "docker", "tag", ref, "hcinit:"+h.tag); err != nil {
		return err
	}
	h.mu.Lock()
	h.release = ref
	h.mu.Unlock()
	fmt.Fprintf(os.Stderr, "e2e: run %s: hcinit:%s is %s, loaded from %s\n", h.run, h.tag, ref, dist)
	return nil
}

// buildImage builds dir as image, labelled as this run's; extra are more
// docker build arguments.
func (h *harness) buildImage(image, dir string, extra ...string) error {
	args := append([]string{"build", "-q", "--label", labelKey + "=1", "--label", labelRunKey + "=" + h.run, "-t", image}, extra...)
	_, err := command(3*time.Minute, "", nil, "docker", append(args, dir)...)
	return err
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// sweep removes whatever of this run is left: compose projects, stacks,
// containers, networks, volumes, images. Tests clean up after themselves; a
// leftover found here is reported, as it means a cleanup is missing.
func (h *harness) sweep() {
	h.mu.Lock()
	projects, stacks, release := h.projects, h.stacks, h.release
	h.mu.Unlock()
	if release != "" {
		// The loaded image carries the release's labels, not this run's:
		// drop the run's tag (the release's own stays, as after docker load).
		command(time.Minute, "", nil, "docker", "rmi", "hcinit:"+h.tag)
	}
	for _, p := range projects {
		composeDown(h.root, p)
	}
	for _, s := range stacks {
		command(time.Minute, "", nil, "docker", "stack", "rm", s)
	}
	filters := []string{"label=" + labelRunKey + "=" + h.run}
	for _, p := range projects {
		filters = append(filters, "label=com.docker.compose.project="+p)
	}
	for _, s := range stacks {
		filters = append(filters, "label=com.docker.stack.namespace="+s)
	}
	var left []string
	for _, f := range filters {
		ids := lines(command(time.Minute, "", nil, "docker", "ps", "-aq", "--filter", f))
		if len(ids) > 0 {
			left = append(left, fmt.Sprintf("%d containers (%s)", len(ids), f))
			command(2*time.Minute, "", nil, "docker", append([]string{"rm", "-f", "-v"}, ids...)...)
		}
		for _, kind := range []string{"network", "volume"} {
			ids := lines(command(time.Minute, "", nil, "docker", kind, "ls", "-q", "--filter", f))
			if len(ids) > 0 {
				left = append(left, fmt.Sprintf("%d %ss (%s)", len(ids), kind, f))
				command(time.Minute, "", nil, "docker", append([]string{kind, "rm"}, ids...)...)
			}
		}
	}
	// Images: by reference, so a base tagged here loses its tag and goes with
	// its last child; dangling intermediate images go with the image above.
	for i := 0; i < 3; i++ {
		refs := lines(command(time.Minute, "", nil, "docker", "images", "--filter", "label="+labelRunKey+"="+h.run,
			"--format", "{{if eq .Tag \"<none>\"}}{{.ID}}{{else}}{{.Repository}}:{{.Tag}}{{end}}"))
		if len(refs) == 0 {
			break
		}
		command(2*time.Minute, "", nil, "docker", append([]string{"rmi", "-f"}, refs...)...)
	}
	if len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: the final sweep removed leftovers: %s\n", strings.Join(left, "; "))
	}
}

// command runs name with args (in dir, with env added) under a timeout and
// returns its stdout, trimmed. The error carries the exit status and stderr.
func command(timeout time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := strings.TrimSpace(stdout.String())
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after %s", timeout)
		}
		return out, &cmdError{cmd: name + " " + strings.Join(args, " "), err: err, stderr: strings.TrimSpace(stderr.String()), stdout: out}
	}
	return out, nil
}

// cmdError is a failed command: what ran, how it ended, what it printed.
type cmdError struct {
	cmd, stderr, stdout string
	err                 error
}

func (e *cmdError) Error() string {
	msg := fmt.Sprintf("%s: %v", e.cmd, e.err)
	if e.stderr != "" {
		msg += "\nstderr: " + e.stderr
	}
	if e.stdout != "" {
		msg += "\nstdout: " + e.stdout
	}
	return msg
}

func (e *cmdError) Unwrap() error { return e.err }

// exitCode is the exit status err carries: 0 for nil, -1 when the command did
// not exit by itself.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// lines splits a command's output into non-empty lines; a failed command has
// none.
func lines(out string, err error) []string {
	if err != nil {
		return nil
	}
	var l []string
	for _, s := range strings.Split(out, "\n") {
		if s = strings.TrimSpace(s); s != "" {
			l = append(l, s)
		}
	}
	return l
}
