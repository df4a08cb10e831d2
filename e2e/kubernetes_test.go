package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pod is what the tests take from a Deployment manifest: the one container's
// image, command and args, and its probes. No cluster is available here, so the
// container runs under Docker and each probe is run the way kubelet runs it:
// an exec probe with docker exec, an httpGet probe from a container that shares
// the pod's network namespace, as a pod's containers do.
type pod struct {
	image         string
	command, args []string
	probes        map[string]kubeProbe // startupProbe, livenessProbe, readinessProbe
}

type kubeProbe struct {
	exec []string // exec.command
	path string   // httpGet.path
	port int      // httpGet.port
}

var (
	probeLine = regexp.MustCompile(`^(\s*)(startupProbe|livenessProbe|readinessProbe):\s*$`)
	keyLine   = regexp.MustCompile(`^\s*(?:- )?(image|command|args|httpGet):\s*(.*)$`)
	pathRe    = regexp.MustCompile(`path:\s*([^,}\s]+)`)
	portRe    = regexp.MustCompile(`port:\s*(\d+)`)
)

// readPod reads the few keys it needs from a manifest written with flow
// sequences (["a", "b"], which are JSON) and flow mappings for httpGet. It is
// not a YAML parser; it fails on anything it does not recognise among them.
func readPod(path string) (pod, error) {
	f, err := os.Open(path)
	if err != nil {
		return pod{}, err
	}
	defer f.Close()
	p := pod{probes: map[string]kubeProbe{}}
	var (
		cur       string // the probe being read
		curIndent int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.TrimSpace(line) == "" {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if m := probeLine.FindStringSubmatch(line); m != nil {
			cur, curIndent = m[2], len(m[1])
			p.probes[cur] = kubeProbe{}
			continue
		}
		if cur != "" && indent <= curIndent {
			cur = ""
		}
		m := keyLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		key, val := m[1], strings.TrimSpace(m[2])
		var list []string
		if key == "command" || key == "args" {
			if err := json.Unmarshal([]byte(val), &list); err != nil {
				return p, fmt.Errorf("%s:%d: %s: want a flow sequence of quoted strings: %v", path, n, key, err)
			}
		}
		switch {
		case cur != "" && key == "command":
			pr := p.probes[cur]
			pr.exec = list
			p.probes[cur] = pr
		case cur != "" && key == "httpGet":
			pm, qm := pathRe.FindStringSubmatch(val), portRe.FindStringSubmatch(val)
			if pm == nil || qm == nil {
				return p, fmt.Errorf("%s:%d: httpGet: want {path: P, port: N}", path, n)
			}
			pr := p.probes[cur]
			pr.path = pm[1]
			pr.port, _ = strconv.Atoi(qm[1])
			p.probes[cur] = pr
		case cur == "" && key == "image":
			p.image = val
		case cur == "" && key == "command":
			p.command = list
		case cur == "" && key == "args":
			p.args = list
		}
	}
	if err := sc.Err(); err != nil {
		return p, err
	}
	if p.image == "" || len(p.command) == 0 {
		return p, fmt.Errorf("%s: no image or command", path)
	}
	for _, name := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
		pr, ok := p.probes[name]
		if !ok || (len(pr.exec) == 0 && pr.path == "") {
			return p, fmt.Errorf("%s: %s missing or without exec.command or httpGet", path, name)
		}
	}
	return p, nil
}

// probe runs pr against container c the way kubelet would and returns
// its exit status (0 = success) and output.
func (h *harness) probe(c *container, pr kubeProbe) (int, string) {
	if len(pr.exec) > 0 {
		out, errOut, code := c.exec(nil, pr.exec...)
		return code, strings.TrimSpace(out + " " + errOut)
	}
	out, err := command(time.Minute, "", nil, "docker", "run", "--rm", "--network", "container:"+c.name,
		"--label", labelKey+"=1", "--label", labelRunKey+"="+h.run,
		"--entrypoint", "/httpget", h.tools, fmt.Sprintf("http://127.0.0.1:%d%s", pr.port, pr.path))
	return exitCode(err), out
}

// The Deployments in examples/kubernetes: startup, liveness and readiness
// probes pass; a failing /health makes the pod unready but still live; on
// SIGTERM it turns unready at once and keeps running through --drain-delay,
// then exits 0.
func TestExampleKubernetes(t *testing.T) {
	h := need(t)
	t.Parallel()
	for _, manifest := range []string{"deployment.yaml", "deployment-http.yaml"} {
		t.Run(manifest, func(t *testing.T) {
			t.Parallel()
			p, err := readPod(filepath.Join(h.root, "examples", "kubernetes", manifest))
			if err != nil {
				t.Fatal(err)
			}
			image := p.image
			if strings.HasSuffix(image, ":dev") {
				image = strings.TrimSuffix(image, ":dev") + ":" + h.tag
			}
			// kubelet's command replaces the ENTRYPOINT, args the CMD. Only the
			// interval is shortened, through hcinit's environment twin, which
			// the manifest's args do not set.
			opts := []string{"--network", "none", "-e", "HCINIT_INTERVAL=500ms", "--entrypoint", p.command[0]}
			c := h.start(t, opts, image, append(p.command[1:], p.args...)...)

			expect := func(name string, want int, timeout time.Duration) {
				t.Helper()
				waitFor(t, timeout, fmt.Sprintf("%s exit %d", name, want), func() (bool, string) {
					code, out := h.probe(c, p.probes[name])
					return code == want, fmt.Sprintf("exit %d: %s", code, out)
				})
			}
			expect("startupProbe", 0, 20*time.Second)
			expect("livenessProbe", 0, 5*time.Second)
			expect("readinessProbe", 0, 20*time.Second)

			// /health fails: out of the Service, not restarted.
			c.mustExec(0, "/app", "-ctl", "fail")
			expect("readinessProbe", 1, 20*time.Second)
			if code, out := h.probe(c, p.probes["livenessProbe"]); code != 0 {
				t.Errorf("liveness failed while only readiness should: %s", out)
			}
			c.mustExec(0, "/app", "-ctl", "ok")
			expect("readinessProbe", 0, 20*time.Second)

			// kubelet's SIGTERM: unready at once, the app keeps serving during
			// the drain delay (5s), then stops gracefully.
			if _, err := docker("kill", "-s", "TERM", c.name); err != nil {
				t.Fatal(err)
			}
			termAt := time.Now()
			expect("readinessProbe", 1, 2*time.Second)
			// A probe of a stopped container fails too, so the readiness
			// failure means "unready while draining" only if liveness still
			// passes after it.
			if code, out := h.probe(c, p.probes["livenessProbe"]); code != 0 {
				t.Errorf("liveness failed %s after SIGTERM, inside the 5s drain delay: %s", time.Since(termAt).Round(time.Millisecond), out)
			}
			waitFor(t, 20*time.Second, "exit after the drain delay", func() (bool, string) {
				in := c.inspect()
				return !in.State.Running, in.State.Status
			})
			in := c.inspect()
			drained := in.State.FinishedAt.Sub(termAt)
			if in.State.ExitCode != 0 || drained < 4*time.Second {
				t.Errorf("after SIGTERM: exit %d after %s; want 0 after the 5s drain delay", in.State.ExitCode, drained)
			}
			t.Logf("unready at once after SIGTERM, exited %s later with %d", drained.Round(100*time.Millisecond), in.State.ExitCode)
		})
	}
}
