package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The outside-in audit on a real kubelet: what the kubelet reports (exit
// codes and reasons in lastState, restartCount, Ready, probe events) for
// hcinit under the pod shapes and stop paths users have, judged by the
// kubelet's own semantics (pkg/kubelet/prober/worker.go, pkg/probe/exec,
// kuberuntime_container.go killContainer). Every pod runs the e2e tools
// image (hcinit, legacy-http as /app, sleeper, orphaner); the tests run in
// parallel on the cluster the other kube tests share.

// auditImage loads the tools image into the cluster once, as
// hcinit-e2e-tools:dev.
func (k *kube) auditImage(t *testing.T) string {
	t.Helper()
	auditImageOnce.Do(func() {
		_, auditImageErr = command(5*time.Minute, k.h.root, nil, "bash", "scripts/k8s.sh", "load", k.h.tools+"=hcinit-e2e-tools:dev")
	})
	if auditImageErr != nil {
		t.Fatal(auditImageErr)
	}
	return "hcinit-e2e-tools:dev"
}

var (
	auditImageOnce sync.Once
	auditImageErr  error
)

// applyYAML applies manifest (one or more documents) in ns.
func (k *kube) applyYAML(t *testing.T, ns, manifest string) {
	t.Helper()
	file := filepath.Join(k.h.dir, ns+"-"+strconv.FormatInt(time.Now().UnixNano(), 36)+".yaml")
	if err := os.WriteFile(file, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	k.mustRun(t, "apply", "-n", ns, "-f", file)
}

// aPod is a pod as the audit reads it: init containers (native sidecars)
// and container IDs too.
type aPod struct {
	Metadata kMeta `json:"metadata"`
	Status   struct {
		Phase                 string `json:"phase"`
		ContainerStatuses     []aCS  `json:"containerStatuses"`
		InitContainerStatuses []aCS  `json:"initContainerStatuses"`
		Conditions            []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
		} `json:"conditions"`
	} `json:"status"`
}

type aCS struct {
	Name         string `json:"name"`
	ContainerID  string `json:"containerID"`
	Ready        bool   `json:"ready"`
	RestartCount int    `json:"restartCount"`
	State        kState `json:"state"`
	LastState    kState `json:"lastState"`
}

func (p *aPod) containers() map[string]aCS {
	m := map[string]aCS{}
	for _, c := range append(append([]aCS(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		m[c.Name] = c
	}
	return m
}

func (p *aPod) ready() bool {
	for _, c := range p.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

func (p *aPod) String() string {
	var cs []string
	for _, c := range append(append([]aCS(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		st := "?"
		switch {
		case c.State.Running != nil:
			st = "running"
		case c.State.Terminated != nil:
			st = fmt.Sprintf("terminated(%d %s)", c.State.Terminated.ExitCode, c.State.Terminated.Reason)
		case c.State.Waiting != nil:
			st = "waiting(" + c.State.Waiting.Reason + ")"
		}
		last := ""
		if c.LastState.Terminated != nil {
			last = fmt.Sprintf(" last=%d/%s", c.LastState.Terminated.ExitCode, c.LastState.Terminated.Reason)
		}
		cs = append(cs, fmt.Sprintf("%s ready=%v restarts=%d %s%s", c.Name, c.Ready, c.RestartCount, st, last))
	}
	return fmt.Sprintf("%s %s ready=%v [%s]", p.Metadata.Name, p.Status.Phase, p.ready(), strings.Join(cs, "; "))
}

func (k *kube) aPod(ns, name string) (aPod, error) {
	var p aPod
	err := k.get("/api/v1/namespaces/"+ns+"/pods/"+name, &p)
	return p, err
}

// waitPod waits until cond holds for the pod and returns it.
func (k *kube) waitPod(t *testing.T, ns, name, what string, timeout time.Duration, cond func(p aPod) bool) aPod {
	t.Helper()
	var p aPod
	waitFor(t, timeout, name+": "+what, func() (bool, string) {
		var err error
		p, err = k.aPod(ns, name)
		if err != nil {
			return false, err.Error()
		}
		return cond(p), p.String()
	})
	return p
}

// deleteWatched deletes the pod and follows it until it is gone: it returns
// when the delete was sent and the last terminated state the API showed for
// each container.
func (k *kube) deleteWatched(t *testing.T, ns, name string, timeout time.Duration) (time.Time, map[string]kState) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu      sync.Mutex
		final   = map[string]kState{}
		gone    = make(chan struct{})
		once    sync.Once
		watched = make(chan struct{})
		wonce   sync.Once
	)
	go k.watch(ctx, "/api/v1/namespaces/"+ns+"/pods?fieldSelector="+url.QueryEscape("metadata.name="+name), func(typ string, obj json.RawMessage) {
		wonce.Do(func() { close(watched) })
		var p aPod
		if json.Unmarshal(obj, &p) != nil {
			return
		}
		mu.Lock()
		for n, c := range p.containers() {
			if c.State.Terminated != nil {
				final[n] = c.State
			}
		}
		mu.Unlock()
		if typ == "DELETED" {
			once.Do(func() { close(gone) })
		}
	})
	select {
	case <-watched: // the initial ADDED event: the watch is on
	case <-time.After(30 * time.Second):
		t.Fatalf("no watch event for pod %s in 30s", name)
	}
	deleted := time.Now()
	k.mustRun(t, "delete", "pod", "-n", ns, name, "--wait=false")
	select {
	case <-gone:
	case <-time.After(timeout):
		p, _ := k.aPod(ns, name)
		t.Fatalf("pod %s not gone %s after kubectl delete: %s", name, timeout, p.String())
	}
	mu.Lock()
	defer mu.Unlock()
	out := map[string]kState{}
	for n, s := range final {
		out[n] = s
	}
	return deleted, out
}

// containerLog is the text of a container's current log file (the kubelet's
// podLogsDir: the API server cannot reach this kubelet's log endpoint).
func (k *kube) containerLog(ns string, p aPod, container string) string {
	files, _ := filepath.Glob(filepath.Join(k.podLogs, ns+"_"+p.Metadata.Name+"_"+p.Metadata.UID, container, "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

// ctrExec runs argv in a container through the cluster's containerd, as
// kubectl exec and the kubelet's exec probes do (CRI exec: the container's
// namespaces, environment and user). kubectl exec itself needs the API
// server to reach the kubelet's node address, which this cluster keeps on
// loopback.
func (k *kube) ctrExec(t *testing.T, containerID string, argv ...string) (string, int) {
	t.Helper()
	id := strings.TrimPrefix(containerID, "containerd://")
	args := append([]string{"--address", "/run/hcinit-k8s/containerd.sock", "--namespace", "k8s.io", "tasks", "exec",
		"--exec-id", "k8saudit-" + strconv.FormatInt(time.Now().UnixNano(), 36), id}, argv...)
	out, err := command(time.Minute, "", nil, "ctr", args...)
	code := exitCode(err)
	if code < 0 {
		t.Fatalf("ctr exec %v: %v", argv, err)
	}
	// What it said on stderr, for a failure to be read (hcinit status
	// prints why it got no answer there).
	var ce *cmdError
	if errors.As(err, &ce) && ce.stderr != "" {
		t.Logf("ctr exec %v: exit %d, stderr: %s", argv, code, ce.stderr)
	}
	return out, code
}

// hostPids returns the host pids of the processes whose command line
// starts with prefix (the test runs as root in the host's pid namespace).
func hostPids(prefix string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.HasPrefix(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), []byte(prefix)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// podSpec is one pod of the audit: name, pod-level spec lines (indented
// two spaces under spec:) and containers (YAML list items, indented four).
func podSpec(name, spec, containers string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\nspec:\n" + spec +
		"  containers:\n" + containers + "---\n"
}

// hcContainer is a container running hcinit ARGS with the tools image and
// extra YAML lines (probes, lifecycle) indented six spaces.
func hcContainer(name, image string, args []string, extra string) string {
	a, _ := json.Marshal(args)
	return "    - name: " + name + "\n      image: " + image + "\n      imagePullPolicy: Never\n" +
		"      command: [\"/hcinit\"]\n      args: " + string(a) + "\n" + extra
}

const readyExec = "      readinessProbe:\n        exec: {command: [\"/hcinit\", \"check\", \"--ready\"]}\n        periodSeconds: 1\n        failureThreshold: 1\n"

// Grace: the orchestrator's grace decides, as under tini. A child that needs
// 12 s to stop after TERM gets them under terminationGracePeriodSeconds 30
// (hcinit's --stop-timeout is opt-in) and the container ends 0 Completed;
// under a 3 s grace the kubelet's SIGKILL ends it (137). The exit code in the
// kubelet's status is what the child did: 143 when TERM killed it, its own
// code after a graceful shutdown.
func TestKubeAuditGrace(t *testing.T) {
	k := needKube(t)
	t.Parallel()
	img := k.auditImage(t)
	ns := k.namespace(t, "audit-grace")
	slow := []string{"--", "/sleeper", "-handle", "-shutdown", "12s"}
	k.applyYAML(t, ns,
		podSpec("slow30", "  terminationGracePeriodSeconds: 30\n", hcContainer("app", img, slow, ""))+
			podSpec("slow3", "  terminationGracePeriodSeconds: 3\n", hcContainer("app", img, slow, ""))+
			podSpec("dies", "  terminationGracePeriodSeconds: 30\n", hcContainer("app", img, []string{"--", "/sleeper"}, ""))+
			podSpec("code3", "  terminationGracePeriodSeconds: 30\n", hcContainer("app", img, []string{"--", "/app", "-exit-code", "3"}, ""))+
			podSpec("missing", "  restartPolicy: Never\n", hcContainer("app", img, []string{"--", "/nonexistent"},
				"      terminationMessagePolicy: FallbackToLogsOnError\n")))
	// A child that cannot be started: 127, and hcinit's reason is the
	// termination message kubectl describe shows.
	t.Run("missing", func(t *testing.T) {
		t.Parallel()
		var msg string
		k.waitPod(t, ns, "missing", "terminated", 2*time.Minute, func(p aPod) bool {
			var st struct {
				Status struct {
					ContainerStatuses []struct {
						State struct {
							Terminated *struct {
								ExitCode int    `json:"exitCode"`
								Message  string `json:"message"`
							} `json:"terminated"`
						} `json:"state"`
					} `json:"containerStatuses"`
				} `json:"status"`
			}
			if k.get("/api/v1/namespaces/"+ns+"/pods/missing", &st) != nil || len(st.Status.ContainerStatuses) == 0 {
				return false
			}
			tr := st.Status.ContainerStatuses[0].State.Terminated
			if tr == nil {
				return false
			}
			msg = tr.Message
			if tr.ExitCode != 127 || !strings.Contains(msg, "/nonexistent") {
				t.Errorf("container ended %d with message %q; want 127 naming /nonexistent", tr.ExitCode, msg)
			}
			return true
		})
		t.Logf("termination message: %s", strings.TrimSpace(msg))
	})
	cases := []struct {
		pod      string
		code     int
		reason   string
		min, max time.Duration // finishedAt after the delete (whole seconds: the API's precision)
	}{
		{"slow30", 0, "Completed", 10 * time.Second, 30 * time.Second},
		{"slow3", 137, "Error", 0, 10 * time.Second},
		{"dies", 143, "Error", 0, 30 * time.Second},
		{"code3", 3, "Error", 0, 30 * time.Second},
	}
	for _, c := range cases {
		k.waitPod(t, ns, c.pod, "running", 2*time.Minute, func(p aPod) bool {
			cs, ok := p.containers()["app"]
			return ok && cs.State.Running != nil
		})
	}
	for _, c := range cases {
		t.Run(c.pod, func(t *testing.T) {
			t.Parallel()
			deleted, final := k.deleteWatched(t, ns, c.pod, 90*time.Second)
			st, ok := final["app"]
			if !ok || st.Terminated == nil {
				t.Fatalf("the API never showed the container's exit")
			}
			tr := st.Terminated
			after := tr.FinishedAt.Sub(deleted.Truncate(time.Second))
			t.Logf("exit %d (%s) %s after kubectl delete", tr.ExitCode, tr.Reason, after)
			if tr.ExitCode != c.code || tr.Reason != c.reason {
				t.Errorf("container ended %d %s; want %d %s", tr.ExitCode, tr.Reason, c.code, c.reason)
			}
			if after < c.min || after > c.max {
				t.Errorf("container ended %s after the delete; want between %s and %s", after, c.min, c.max)
			}
		})
	}
}

// Several hcinits in one pod. They share the network namespace (so every
// abstract socket) and /dev/shm (containerd mounts the sandbox's into each
// container); with shareProcessNamespace the pid namespace too, where hcinit
// is not PID 1 (pause is) and runs as a subreaper; a native sidecar is an
// init container with restartPolicy: Always. In each pod container a's check
// passes and b's fails: the kubelet's exec probe in each container must be
// answered by that container's own hcinit (a Ready, b not, with b's reason),
// and so must `hcinit status` run by CRI exec. In the shared pid namespace,
// container c's child exits leaving an orphan: c's hcinit stops its own tree
// (the orphan included) and nothing of a's or b's, again and again as the
// kubelet restarts c. On delete every container exits 0 (nobody sat out the
// grace).
func TestKubeAuditSharedPod(t *testing.T) {
	k := needKube(t)
	t.Parallel()
	img := k.auditImage(t)
	ns := k.namespace(t, "audit-pod")
	fast := []string{"--interval", "1s", "--retries", "1"}
	good := append(append([]string(nil), fast...), "--check", "http://127.0.0.1:8080/health", "--", "/app", "-listen", "127.0.0.1:8080")
	bad := append(append([]string(nil), fast...), "--check", "tcp://127.0.0.1:8099,level=ready", "--", "/sleeper", "-handle")
	// The restricted profile's pod (seccomp RuntimeDefault) also runs an exec
	// check that leaves orphans: fork, exec and reaping under the filter.
	goodExec := append(append([]string(nil), fast...), "--check", "exec=/orphaner -n 1 -linger 100ms,level=ready")
	goodExec = append(goodExec, good[len(fast):]...)
	marker := "-linger 16m" + strconv.Itoa(int(time.Now().UnixNano()%50)+10) + "s" // orphaner prints -linger as a Go duration
	linger := strings.TrimPrefix(marker, "-linger ")
	leaver := []string{"--", "/orphaner", "-n", "1", "-linger", linger}
	roSec := "      securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n"
	k.applyYAML(t, ns,
		podSpec("sharepid", "  shareProcessNamespace: true\n  terminationGracePeriodSeconds: 20\n",
			hcContainer("a", img, good, readyExec)+hcContainer("b", img, bad, readyExec)+hcContainer("c", img, leaver, ""))+
			podSpec("twohc", "  terminationGracePeriodSeconds: 20\n",
				hcContainer("a", img, good, readyExec)+hcContainer("b", img, bad, readyExec))+
			podSpec("readonly", "  terminationGracePeriodSeconds: 20\n  securityContext: {runAsUser: 65534, runAsGroup: 65534, runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}\n",
				hcContainer("a", img, goodExec, readyExec+roSec)+hcContainer("b", img, bad, readyExec+roSec))+
			podSpec("sidecar", "  terminationGracePeriodSeconds: 20\n  initContainers:\n"+
				strings.Replace(hcContainer("b", img, bad, readyExec), "      command:", "      restartPolicy: Always\n      command:", 1),
				hcContainer("a", img, good, readyExec)))

	for _, pod := range []string{"sharepid", "twohc", "readonly", "sidecar"} {
		t.Run(pod, func(t *testing.T) {
			t.Parallel()
			p := k.waitPod(t, ns, pod, "a Ready, b running", 2*time.Minute, func(p aPod) bool {
				cs := p.containers()
				return cs["a"].Ready && cs["b"].State.Running != nil
			})
			// b's readiness is b's hcinit's: its failing check, never a's pass.
			ev := k.waitEvent(t, ns, pod, "Unhealthy", time.Minute, "Readiness probe failed", "127.0.0.1:8099")
			t.Logf("event: %s", ev.Message)
			time.Sleep(3 * time.Second) // three more probe periods
			p = k.waitPod(t, ns, pod, "a Ready, b not", time.Minute, func(p aPod) bool {
				cs := p.containers()
				return cs["a"].Ready && !cs["b"].Ready
			})
			cs := p.containers()
			// Sharing the pod's sockets is normal: nothing to warn about
			// in kubectl logs.
			for _, name := range []string{"a", "b"} {
				if log := k.containerLog(ns, p, name); strings.Contains(log, "in use by another live server") {
					t.Errorf("container %s's hcinit warns about the other container's sockets:\n%s", name, log)
				}
			}
			// kubectl logs: the child's output is its own stdout lines,
			// hcinit's are whole lines on stderr.
			for _, l := range strings.Split(k.containerLog(ns, p, "b"), "\n") {
				f := strings.SplitN(l, " ", 4)
				if len(f) < 4 {
					continue
				}
				ours := strings.Contains(f[3], "component=")
				if f[2] != "F" || ours != (f[1] == "stderr") || strings.Contains(f[3], "ready pid=") && f[1] != "stdout" {
					t.Errorf("container b's log mixes hcinit's lines with the child's: %q", l)
				}
			}
			for name, want := range map[string]struct {
				code int
				text string
			}{"a": {0, "http"}, "b": {1, "127.0.0.1:8099"}} {
				out, code := k.ctrExec(t, cs[name].ContainerID, "/hcinit", "status")
				if code != want.code || !strings.Contains(out, want.text) {
					t.Errorf("hcinit status in %s: exit %d, want %d with %q:\n%s", name, code, want.code, want.text, out)
				}
			}
			if pod == "sharepid" {
				// c's hcinit stops only its own tree, each time c ends.
				p = k.waitPod(t, ns, pod, "c restarted twice", 2*time.Minute, func(p aPod) bool {
					return p.containers()["c"].RestartCount >= 2
				})
				c := p.containers()["c"]
				if tr := c.LastState.Terminated; tr == nil || tr.ExitCode != 0 {
					t.Errorf("c's last run: %s; want exit 0 (the child's)", p.String())
				}
				if n := len(hostPids("/orphaner -orphan " + marker)); n > 1 {
					t.Errorf("%d orphans of c's earlier runs still alive: its hcinit left them behind", n)
				}
				for _, name := range []string{"a", "b"} {
					if cs := p.containers()[name]; cs.RestartCount != 0 || cs.State.Running == nil {
						t.Errorf("container %s touched by c's stops: %s", name, p.String())
					}
					if log := k.containerLog(ns, p, name); strings.Contains(log, "received") {
						t.Errorf("container %s's child got a signal meant for c's tree:\n%s", name, log)
					}
				}
			}
			_, final := k.deleteWatched(t, ns, pod, 90*time.Second)
			for _, name := range []string{"a", "b"} {
				if st := final[name]; st.Terminated == nil || st.Terminated.ExitCode != 0 {
					t.Errorf("container %s after the delete: %+v; want exit 0", name, st.Terminated)
				}
			}
		})
	}
}

// A hung child (SIGSTOP: it still exists, it answers nothing) fails hcinit's
// process check; the kubelet's liveness probe, exec `hcinit check --live` or
// httpGet /livez on --http, fails and the kubelet restarts the container:
// TERM to hcinit, which forwards TERM and CONT (as systemd does; a stopped
// child would otherwise sit out the grace and die of the kubelet's SIGKILL).
// The kubelet then shows what the child did: lastState exit 0 Completed
// (legacy-http's graceful stop), restartCount 1, and the new container Ready.
func TestKubeAuditHungChild(t *testing.T) {
	k := needKube(t)
	t.Parallel()
	img := k.auditImage(t)
	ns := k.namespace(t, "audit-hung")
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	pods := []struct{ name, probe, reason string }{
		{"exec", "        exec: {command: [\"/hcinit\", \"check\", \"--live\"]}\n", "is stopped"},
		{"http", "        httpGet: {path: /livez, port: 8081}\n", "statuscode: 503"},
	}
	var manifest string
	for _, p := range pods {
		args := []string{"--interval", "1s", "--retries", "2", "--http", ":8081", "--",
			"/app", "-listen", "127.0.0.1:8080", "-fail-file", "/tmp/hung-" + p.name + "-" + run}
		// timeoutSeconds 5: with failureThreshold 1, one exec probe whose
		// runc exec alone took over the default 1 s on a loaded 2-core
		// node restarted the container before the test stopped its child
		// (CI: 3 restarts in a minute, "is stopped" never seen).
		probe := "      livenessProbe:\n" + p.probe + "        periodSeconds: 1\n        failureThreshold: 1\n        timeoutSeconds: 5\n"
		manifest += podSpec(p.name, "  terminationGracePeriodSeconds: 30\n", hcContainer("app", img, args, probe+readyExec))
	}
	k.applyYAML(t, ns, manifest)
	for _, p := range pods {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			k.waitPod(t, ns, p.name, "Ready", 2*time.Minute, func(q aPod) bool { return q.ready() })
			pids := hostPids("/app -listen 127.0.0.1:8080 -fail-file /tmp/hung-" + p.name + "-" + run)
			if len(pids) != 1 {
				t.Fatalf("want the one app process of pod %s, have pids %v", p.name, pids)
			}
			if err := syscall.Kill(pids[0], syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			stopped := time.Now()
			ev := k.waitEvent(t, ns, p.name, "Unhealthy", time.Minute, "Liveness probe failed", p.reason)
			t.Logf("event: %s", ev.Message)
			k.waitEvent(t, ns, p.name, "Killing", time.Minute, "failed liveness probe, will be restarted")
			q := k.waitPod(t, ns, p.name, "restarted and Ready", 2*time.Minute, func(q aPod) bool {
				return q.containers()["app"].RestartCount == 1 && q.ready()
			})
			tr := q.containers()["app"].LastState.Terminated
			if tr == nil {
				t.Fatalf("no lastState after the restart: %s", q.String())
			}
			t.Logf("SIGSTOP -> restarted and Ready: %s; lastState exit %d (%s) %s after the SIGSTOP",
				time.Since(stopped).Round(100*time.Millisecond), tr.ExitCode, tr.Reason, tr.FinishedAt.Sub(stopped.Truncate(time.Second)))
			if tr.ExitCode != 0 || tr.Reason != "Completed" {
				t.Errorf("the hung child's container ended %d %s; want 0 Completed (TERM and CONT reached it)", tr.ExitCode, tr.Reason)
			}
		})
	}
}

// A check slower than the kubelet's probe timeout (timeoutSeconds: 1, the
// default) never makes `hcinit check` slow: hcinit answers from its state,
// so the kubelet's exec probes see hcinit's verdict, never "command timed
// out". Readiness fails with the check's own timeout; liveness (a live-level
// tcp check) keeps passing and nothing restarts: a readiness failure never
// restarts a container.
func TestKubeAuditSlowCheck(t *testing.T) {
	k := needKube(t)
	t.Parallel()
	img := k.auditImage(t)
	ns := k.namespace(t, "audit-slow")
	// The start period: the first check runs as the child starts, before
	// the app listens; with --retries 1 that failure alone would fail
	// liveness and the kubelet (failureThreshold 1) would restart it, as its
	// own tcpSocket probe would. Failures inside it do not count.
	// The check takes 8 s, twice the probes' timeoutSeconds 4: runc exec
	// alone took over 1 s (the default timeout) now and then on a loaded
	// 2-core node, and the kubelet then said "command timed out" whatever
	// hcinit did.
	args := []string{"--interval", "1s", "--retries", "1", "--start-period", "5s", "--check", "tcp://127.0.0.1:8080,level=live",
		"--check", "exec=/sleeper,timeout=8s,level=ready", "--", "/app", "-listen", "127.0.0.1:8080"}
	live := "      livenessProbe:\n        exec: {command: [\"/hcinit\", \"check\", \"--live\"]}\n        periodSeconds: 1\n        failureThreshold: 1\n        timeoutSeconds: 4\n"
	k.applyYAML(t, ns, podSpec("slow", "  terminationGracePeriodSeconds: 5\n", hcContainer("app", img, args, live+readyExec+"        timeoutSeconds: 4\n")))
	k.waitPod(t, ns, "slow", "running", 2*time.Minute, func(p aPod) bool { return p.containers()["app"].State.Running != nil })
	ev := k.waitEvent(t, ns, "slow", "Unhealthy", time.Minute, "Readiness probe failed", "exceeded timeout (8s)")
	t.Logf("event: %s", ev.Message)
	time.Sleep(10 * time.Second) // ten liveness and readiness probes
	p, err := k.aPod(ns, "slow")
	if err != nil {
		t.Fatal(err)
	}
	if cs := p.containers()["app"]; cs.RestartCount != 0 || cs.Ready {
		t.Errorf("want running, not Ready, never restarted: %s", p.String())
	}
	k.noEvent(t, ns, "slow", "Liveness probe failed")
	k.noEvent(t, ns, "slow", "command timed out")
}

// preStop and hcinit's drain, one after the other: the kubelet runs the
// preStop hook (here the sleep action, 3 s) and only then sends TERM; hcinit
// turns not ready at once (the kubelet's next readiness probe sets Ready
// False) and forwards TERM only after --drain-delay. So the pod is not Ready
// before the app gets its TERM, the app gets it no earlier than preStop +
// drain after the delete, and exits 0 inside the grace. (The drain is 8 s:
// the kubelet's exec probe, status update and the watch took up to 7 s to
// show not Ready under 3 busy loops on 2 cores; 4 s was not always enough.)
func TestKubeAuditPreStop(t *testing.T) {
	k := needKube(t)
	t.Parallel()
	img := k.auditImage(t)
	ns := k.namespace(t, "audit-prestop")
	args := []string{"--interval", "1s", "--retries", "1", "--drain-delay", "8s", "--check", "http://127.0.0.1:8080/health", "--", "/app", "-listen", "127.0.0.1:8080"}
	hook := "      lifecycle:\n        preStop:\n          sleep: {seconds: 3}\n"
	k.applyYAML(t, ns, podSpec("prestop", "  terminationGracePeriodSeconds: 30\n", hcContainer("app", img, args, readyExec+hook)))
	p := k.waitPod(t, ns, "prestop", "Ready", 2*time.Minute, func(p aPod) bool { return p.ready() })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu         sync.Mutex
		notReadyAt time.Time
		first      = make(chan bool, 1) // the watch's initial state: Ready or not
	)
	go k.watch(ctx, "/api/v1/namespaces/"+ns+"/pods?fieldSelector="+url.QueryEscape("metadata.name=prestop"), func(typ string, obj json.RawMessage) {
		var q aPod
		if json.Unmarshal(obj, &q) != nil {
			return
		}
		select {
		case first <- q.ready():
		default:
		}
		if !q.ready() {
			mu.Lock()
			if notReadyAt.IsZero() {
				notReadyAt = time.Now()
			}
			mu.Unlock()
		}
	})
	select {
	case ready := <-first:
		if !ready {
			t.Fatal("not Ready before the delete")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no watch event for pod prestop in 30s")
	}
	// The app's log, read through a descriptor opened now: the kubelet
	// removes the file with the pod, and a starved test may not have polled
	// it by then; the open file keeps every line.
	logDir := filepath.Join(k.podLogs, ns+"_"+p.Metadata.Name+"_"+p.Metadata.UID, "app")
	var logFile *os.File
	waitFor(t, 30*time.Second, "the app's log file", func() (bool, string) {
		files, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
		if len(files) == 0 {
			return false, "no *.log in " + logDir
		}
		f, err := os.Open(files[0])
		if err != nil {
			return false, err.Error()
		}
		logFile = f
		return true, ""
	})
	defer logFile.Close()
	deleted, final := k.deleteWatched(t, ns, "prestop", 60*time.Second)
	cancel()
	logText, err := io.ReadAll(logFile)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var termAt time.Time
	for _, l := range strings.Split(string(logText), "\n") {
		f := strings.SplitN(l, " ", 4)
		if len(f) == 4 && strings.Contains(f[3], "received terminated") {
			termAt, _ = time.Parse(time.RFC3339Nano, f[0])
			break
		}
	}
	t.Logf("kubectl delete at 0; pod not Ready at %s; app got SIGTERM at %s", since(deleted, notReadyAt), since(deleted, termAt))
	if termAt.IsZero() {
		t.Fatalf("the app's log never says it received SIGTERM:\n%s", logText)
	}
	if notReadyAt.IsZero() || !notReadyAt.Before(termAt) {
		t.Errorf("the pod was not marked not Ready before the app got SIGTERM")
	}
	if got := termAt.Sub(deleted); got < 10*time.Second {
		t.Errorf("the app got SIGTERM %s after the delete; want preStop 3s + drain 8s first", got.Round(10*time.Millisecond))
	}
	if st := final["app"]; st.Terminated == nil || st.Terminated.ExitCode != 0 {
		t.Errorf("container after the delete: %+v; want exit 0", st.Terminated)
	}
}

// Two services linking the library, each under its own hcinit (no --check:
// hcinit asks the child's check function), in a hardened pod: non-root and
// readOnlyRootFilesystem, so /run and /tmp are read-only and both hcinits,
// each PID 1 of its own container, keep their runtime files in /dev/shm —
// the pod's, shared by every container. Each must keep finding its own
// child's socket: both Ready, no liveness failure, no restart.
func TestKubeAuditReadOnlyLibraries(t *testing.T) {
	k := needKube(t)
	t.Parallel()
	ns := k.namespace(t, "audit-rolib")
	probes := strings.ReplaceAll(readyExec, "--ready", "--live")
	// failureThreshold 2 and timeoutSeconds 5: what this test judges is
	// the collision, which failed every probe; on a loaded node runc exec
	// alone took over the default 1 s now and then ("command timed out").
	timeout := "        timeoutSeconds: 5\n"
	probes = strings.Replace(strings.Replace(probes, "readinessProbe", "livenessProbe", 1), "failureThreshold: 1", "failureThreshold: 2", 1) + timeout + readyExec + timeout +
		"      securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n"
	img := "hcinit-example-go-library:dev"
	args := func(port string) []string {
		return []string{"--interval", "1s", "--retries", "2", "--start-period", "5s", "--", "/app", "-listen", "127.0.0.1:" + port}
	}
	k.applyYAML(t, ns, podSpec("libs", "  terminationGracePeriodSeconds: 5\n  securityContext: {runAsUser: 65534, runAsGroup: 65534, runAsNonRoot: true}\n",
		hcContainer("a", img, args("8080"), probes)+hcContainer("b", img, args("8081"), probes)))
	k.waitPod(t, ns, "libs", "both containers running", 2*time.Minute, func(p aPod) bool {
		cs := p.containers()
		return cs["a"].State.Running != nil && cs["b"].State.Running != nil
	})
	k.waitPod(t, ns, "libs", "both Ready", time.Minute, func(p aPod) bool { return p.ready() })
	time.Sleep(15 * time.Second) // fifteen probe periods of each
	p, err := k.aPod(ns, "libs")
	if err != nil {
		t.Fatal(err)
	}
	if !p.ready() || p.containers()["a"].RestartCount+p.containers()["b"].RestartCount != 0 {
		t.Fatalf("want both containers Ready and never restarted: %s", p.String())
	}
	k.noEvent(t, ns, "libs", "Liveness probe failed")

	// Each hcinit killed outright (no clean-up: its files stay in the
	// shared /dev/shm), the kubelet restarts that container: the new
	// hcinit and its neighbour both carry on.
	for i, name := range []string{"a", "b"} {
		port := map[string]string{"a": "8080", "b": "8081"}[name]
		pids := hostPids("/hcinit " + strings.Join(args(port), " "))
		if len(pids) != 1 {
			t.Fatalf("want container %s's one hcinit, have pids %v", name, pids)
		}
		if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		k.waitPod(t, ns, "libs", name+" restarted once, both Ready", 2*time.Minute, func(p aPod) bool {
			return p.containers()[name].RestartCount == 1 && p.ready()
		})
		time.Sleep(5 * time.Second)
		p, err := k.aPod(ns, "libs")
		if err != nil {
			t.Fatal(err)
		}
		cs := p.containers()
		if !p.ready() || cs["a"].RestartCount+cs["b"].RestartCount != i+1 {
			t.Fatalf("after SIGKILL of %s's hcinit: want both Ready, %d restart(s) in all: %s", name, i+1, p.String())
		}
	}
	// (A probe that raced the kill may have failed: the kubelet can exec
	// into a container whose PID 1 is exiting. The restart counts say no
	// probe restarted anything.)
}

// A read-only pod whose containers run as different users: the first
// hcinit makes the pod's /dev/shm/hcinit its own, so the others have no
// writable runtime directory and each takes an abstract notify socket in
// the pod's shared network namespace, all PID 1 of their containers. Every
// one must start: no restart, all running.
func TestKubeAuditReadOnlyUsers(t *testing.T) {
	k := needKube(t)
	t.Parallel()
	img := k.auditImage(t)
	ns := k.namespace(t, "audit-rousers")
	ro := func(uid string) string {
		return "      securityContext: {runAsUser: " + uid + ", runAsGroup: " + uid +
			", readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}\n"
	}
	notify := []string{"--check", "notify,level=live", "--", "/sleeper", "-handle"}
	k.applyYAML(t, ns, podSpec("users", "  terminationGracePeriodSeconds: 5\n  securityContext: {runAsNonRoot: true}\n",
		hcContainer("a", img, []string{"--", "/sleeper", "-handle"}, ro("1000"))+
			hcContainer("b", img, notify, ro("2000"))+hcContainer("c", img, notify, ro("2000"))))
	k.waitPod(t, ns, "users", "all running (or one restarted)", 2*time.Minute, func(p aPod) bool {
		cs := p.containers()
		for _, c := range cs {
			if c.RestartCount > 0 {
				return true
			}
		}
		return len(cs) == 3 && cs["a"].State.Running != nil && cs["b"].State.Running != nil && cs["c"].State.Running != nil
	})
	time.Sleep(8 * time.Second)
	p, err := k.aPod(ns, "users")
	if err != nil {
		t.Fatal(err)
	}
	for name, cs := range p.containers() {
		if cs.RestartCount != 0 || cs.State.Running == nil {
			t.Errorf("container %s did not keep running: %s", name, p.String())
			t.Logf("its log:\n%s", k.containerLog(ns, p, name))
		}
	}
}
