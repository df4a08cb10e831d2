package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// kube is a real single-node cluster (scripts/k8s.sh up): kubelet, API
// server, scheduler, controller-manager, etcd, a private containerd and a CNI
// bridge. The tests apply the manifests in examples/kubernetes and observe
// through the API what `kubectl get pods`, events and EndpointSlices show.
type kube struct {
	h                       *harness
	kubectl, kubeconfig     string
	apiURL, token           string
	podLogs, logs, version  string
	client, watchClient     *http.Client
	tini                    string // legacy-http under tini, as loaded into the cluster
	legacyImage, libraryImg string
}

var (
	kubeOnce    sync.Once
	kubeSuite   *kube
	kubeErr     error
	kubeStarted bool // scripts/k8s.sh up ran: TestMain runs down
	kubeRoot    string
	kubeLock    *os.File
)

// needKube returns the cluster, bringing it up on first use. Like need it
// skips with -short; it fails when the cluster does not come up, unless the
// tests run neither in CI nor as root (a developer's machine), where it skips.
func needKube(t *testing.T) *kube {
	t.Helper()
	h := need(t)
	kubeOnce.Do(func() { kubeSuite, kubeErr = startKube(h) })
	if kubeErr != nil {
		if os.Getenv("CI") == "" && os.Getuid() != 0 {
			t.Skipf("Kubernetes e2e NOT RUN: %v", kubeErr)
		}
		t.Fatalf("Kubernetes cluster: %v", kubeErr)
	}
	return kubeSuite
}

func startKube(h *harness) (*kube, error) {
	if os.Getuid() != 0 {
		return nil, fmt.Errorf("scripts/k8s.sh needs root (containerd, kubelet, CNI)")
	}
	// One cluster per machine (fixed ports, paths and bridge): a second test
	// run waits for the first to take its cluster down.
	lock, err := os.OpenFile("/run/hcinit-k8s.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for waited := 0; syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil; waited++ {
		if waited == 0 {
			fmt.Fprintln(os.Stderr, "e2e: another test run has the Kubernetes cluster; waiting for it (up to 20 min)")
		}
		if waited > 20*60 {
			lock.Close()
			return nil, fmt.Errorf("another test run held the Kubernetes cluster for 20 min")
		}
		time.Sleep(time.Second)
	}
	kubeLock = lock // released by stopKube, after down
	start := time.Now()
	kubeStarted, kubeRoot = true, h.root
	// A cold build of the binaries takes ~10-12 min on 2 cores (make test
	// builds them before go test starts); up itself takes seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(h.root, "scripts", "k8s.sh"), "up")
	cmd.Env = append(os.Environ(), "HCINIT_K8S_LOCKED=1") // we hold the lock
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("scripts/k8s.sh up: %v (logs in /var/log/hcinit-k8s)", err)
	}
	out, err := command(time.Minute, h.root, nil, "bash", "scripts/k8s.sh", "env")
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	insecure := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // the cluster's self-signed cert, on 127.0.0.1
	k := &kube{
		h: h, kubectl: env["KUBECTL"], kubeconfig: env["KUBECONFIG"], apiURL: env["API"], token: env["TOKEN"],
		podLogs: env["POD_LOGS"], logs: env["LOGS"], version: env["VERSION"],
		client:      &http.Client{Timeout: 20 * time.Second, Transport: insecure},
		watchClient: &http.Client{Transport: insecure},
	}

	// Images: the examples as the manifests name them (:dev, in the cluster's
	// own containerd only), and legacy-http under Debian's static tini for
	// the rollout comparison.
	k.tini = "hcinit-e2e-tini:" + h.tag
	ctxDir := filepath.Join(h.dir, "tini")
	if err := os.MkdirAll(ctxDir, 0o755); err != nil {
		return nil, err
	}
	if err := copyFile("/usr/bin/tini-static", filepath.Join(ctxDir, "tini")); err != nil {
		return nil, fmt.Errorf("tini-static (Debian's tini package): %v", err)
	}
	if err := copyFile(filepath.Join(h.bin, "legacy-http"), filepath.Join(ctxDir, "app")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\nCOPY tini app /\nENTRYPOINT [\"/tini\", \"--\", \"/app\"]\n"), 0o644); err != nil {
		return nil, err
	}
	if err := h.buildImage(k.tini, ctxDir); err != nil {
		return nil, err
	}
	if _, err := command(5*time.Minute, h.root, nil, "bash", "scripts/k8s.sh", "load",
		"hcinit-example-legacy-http:"+h.tag+"=hcinit-example-legacy-http:dev",
		"hcinit-example-go-library:"+h.tag+"=hcinit-example-go-library:dev",
		k.tini+"=hcinit-e2e-tini:dev"); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "e2e: Kubernetes %s up and images loaded in %s\n", k.version, time.Since(start).Round(100*time.Millisecond))
	return k, nil
}

// stopKube takes the cluster down (from TestMain); an error means something
// of it was left behind.
func stopKube() error {
	if !kubeStarted {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(kubeRoot, "scripts", "k8s.sh"), "down")
	cmd.Env = append(os.Environ(), "HCINIT_K8S_LOCKED=1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	err := cmd.Run()
	kubeLock.Close()
	return err
}

// run runs kubectl; its error carries stderr.
func (k *kube) run(timeout time.Duration, args ...string) (string, error) {
	return command(timeout, k.h.root, nil, k.kubectl, append([]string{"--kubeconfig", k.kubeconfig}, args...)...)
}

func (k *kube) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := k.run(2*time.Minute, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// namespace makes a namespace for one test (removed with it, and by
// scripts/k8s.sh down through its label).
func (k *kube) namespace(t *testing.T, name string) string {
	t.Helper()
	ns := name + "-" + k.h.run
	k.mustRun(t, "create", "namespace", ns)
	k.mustRun(t, "label", "namespace", ns, labelKey+"=1")
	t.Cleanup(func() {
		if t.Failed() {
			k.dumpNamespace(t, ns)
		}
		k.run(time.Minute, "delete", "namespace", ns, "--wait=false")
	})
	return ns
}

// dumpNamespace logs what a failed test's namespace held.
func (k *kube) dumpNamespace(t *testing.T, ns string) {
	out, _ := k.run(time.Minute, "-n", ns, "get", "pods,endpointslices", "-o", "wide")
	t.Logf("kubectl -n %s get pods,endpointslices:\n%s", ns, out)
	out, _ = k.run(time.Minute, "-n", ns, "get", "events", "--sort-by", ".lastTimestamp")
	t.Logf("events:\n%s", out)
}

// get GETs an API path into v.
func (k *kube) get(path string, v any) error {
	req, err := http.NewRequest("GET", k.apiURL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+k.token)
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// watch streams the API's watch events for path (a list URL) until ctx ends,
// calling fn with each event's type and object. It reconnects when the
// server closes the stream.
func (k *kube) watch(ctx context.Context, path string, fn func(typ string, obj json.RawMessage)) {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, "GET", k.apiURL+path+sep+"watch=1", nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+k.token)
		resp, err := k.watchClient.Do(req)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		dec := json.NewDecoder(resp.Body)
		for {
			var ev struct {
				Type   string
				Object json.RawMessage
			}
			if err := dec.Decode(&ev); err != nil {
				break
			}
			fn(ev.Type, ev.Object)
		}
		resp.Body.Close()
	}
}

// The API objects, as far as the tests read them.
type (
	kMeta struct {
		Name              string            `json:"name"`
		UID               string            `json:"uid"`
		CreationTimestamp time.Time         `json:"creationTimestamp"`
		DeletionTimestamp *time.Time        `json:"deletionTimestamp"`
		Labels            map[string]string `json:"labels"`
	}
	kState struct {
		Running *struct {
			StartedAt time.Time `json:"startedAt"`
		} `json:"running"`
		Terminated *struct {
			ExitCode   int       `json:"exitCode"`
			Reason     string    `json:"reason"`
			FinishedAt time.Time `json:"finishedAt"`
		} `json:"terminated"`
		Waiting *struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"waiting"`
	}
	kPod struct {
		Metadata kMeta `json:"metadata"`
		Status   struct {
			Phase      string `json:"phase"`
			PodIP      string `json:"podIP"`
			Conditions []struct {
				Type               string    `json:"type"`
				Status             string    `json:"status"`
				LastTransitionTime time.Time `json:"lastTransitionTime"`
			} `json:"conditions"`
			ContainerStatuses []struct {
				Name         string `json:"name"`
				Ready        bool   `json:"ready"`
				RestartCount int    `json:"restartCount"`
				State        kState `json:"state"`
				LastState    kState `json:"lastState"`
			} `json:"containerStatuses"`
		} `json:"status"`
	}
	kSlice struct {
		Metadata  kMeta `json:"metadata"`
		Endpoints []struct {
			Addresses  []string `json:"addresses"`
			Conditions struct {
				Ready       *bool `json:"ready"`
				Serving     *bool `json:"serving"`
				Terminating *bool `json:"terminating"`
			} `json:"conditions"`
			TargetRef *struct {
				Name string `json:"name"`
			} `json:"targetRef"`
		} `json:"endpoints"`
	}
	kEvent struct {
		Reason         string `json:"reason"`
		Message        string `json:"message"`
		Count          int    `json:"count"`
		InvolvedObject struct {
			Name string `json:"name"`
		} `json:"involvedObject"`
	}
)

func (p *kPod) ready() bool {
	for _, c := range p.Status.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

func (p *kPod) restarts() int {
	n := 0
	for _, c := range p.Status.ContainerStatuses {
		n += c.RestartCount
	}
	return n
}

func (p *kPod) String() string {
	var cs []string
	for _, c := range p.Status.ContainerStatuses {
		st := "?"
		switch {
		case c.State.Running != nil:
			st = "running"
		case c.State.Terminated != nil:
			st = fmt.Sprintf("terminated(%d %s)", c.State.Terminated.ExitCode, c.State.Terminated.Reason)
		case c.State.Waiting != nil:
			st = "waiting(" + c.State.Waiting.Reason + ")"
		}
		cs = append(cs, fmt.Sprintf("%s ready=%v restarts=%d %s", c.Name, c.Ready, c.RestartCount, st))
	}
	return fmt.Sprintf("%s %s ip=%s ready=%v [%s]", p.Metadata.Name, p.Status.Phase, p.Status.PodIP, p.ready(), strings.Join(cs, "; "))
}

func (k *kube) pods(ns, app string) ([]kPod, error) {
	var l struct{ Items []kPod }
	err := k.get("/api/v1/namespaces/"+ns+"/pods?labelSelector="+url.QueryEscape("app="+app), &l)
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Metadata.Name < l.Items[j].Metadata.Name })
	return l.Items, err
}

func (k *kube) pod(ns, name string) (kPod, error) {
	var p kPod
	err := k.get("/api/v1/namespaces/"+ns+"/pods/"+name, &p)
	return p, err
}

// readyPods waits until app has n pods, all Ready and none terminating,
// and returns them.
func (k *kube) readyPods(t *testing.T, ns, app string, n int, timeout time.Duration) []kPod {
	t.Helper()
	var got []kPod
	waitFor(t, timeout, fmt.Sprintf("%d Ready pods of %s", n, app), func() (bool, string) {
		pods, err := k.pods(ns, app)
		if err != nil {
			return false, err.Error()
		}
		var ready, states []string
		got = got[:0]
		for _, p := range pods {
			states = append(states, p.String())
			if p.ready() && p.Metadata.DeletionTimestamp == nil {
				ready = append(ready, p.Metadata.Name)
				got = append(got, p)
			}
		}
		return len(ready) == n && len(pods) == n, strings.Join(states, " | ")
	})
	return got
}

// endpoints returns the Service's endpoints by pod name: whether each is ready.
func (k *kube) endpoints(ns, svc string) (map[string]bool, error) {
	var l struct{ Items []kSlice }
	if err := k.get("/apis/discovery.k8s.io/v1/namespaces/"+ns+"/endpointslices?labelSelector="+url.QueryEscape("kubernetes.io/service-name="+svc), &l); err != nil {
		return nil, err
	}
	eps := map[string]bool{}
	for _, s := range l.Items {
		for _, e := range s.Endpoints {
			if e.TargetRef != nil {
				eps[e.TargetRef.Name] = e.Conditions.Ready == nil || *e.Conditions.Ready
			}
		}
	}
	return eps, nil
}

// events returns the events about one object.
func (k *kube) events(ns, name string) ([]kEvent, error) {
	var l struct{ Items []kEvent }
	err := k.get("/api/v1/namespaces/"+ns+"/events?fieldSelector="+url.QueryEscape("involvedObject.name="+name), &l)
	return l.Items, err
}

// waitEvent waits for an event about name whose reason is reason and whose
// message contains every one of parts.
func (k *kube) waitEvent(t *testing.T, ns, name, reason string, timeout time.Duration, parts ...string) kEvent {
	t.Helper()
	var found kEvent
	waitFor(t, timeout, fmt.Sprintf("event %s %q about %s", reason, parts, name), func() (bool, string) {
		evs, err := k.events(ns, name)
		if err != nil {
			return false, err.Error()
		}
		var seen []string
	next:
		for _, e := range evs {
			seen = append(seen, e.Reason+": "+e.Message)
			if e.Reason != reason {
				continue
			}
			for _, p := range parts {
				if !strings.Contains(e.Message, p) {
					continue next
				}
			}
			found = e
			return true, ""
		}
		return false, strings.Join(seen, " | ")
	})
	return found
}

// podLog follows a container's log file under the kubelet's podLogsDir (the
// API server cannot reach this kubelet's log endpoint) and returns each line
// with the time the runtime stamped on it, until ctx ends.
func (k *kube) podLog(ctx context.Context, ns string, p kPod, container string) func() []logLine {
	var (
		mu    sync.Mutex
		lines []logLine
	)
	dir := filepath.Join(k.podLogs, ns+"_"+p.Metadata.Name+"_"+p.Metadata.UID, container)
	go func() {
		var off int64
		for ctx.Err() == nil {
			files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			sort.Strings(files)
			if len(files) > 0 {
				if f, err := os.Open(files[len(files)-1]); err == nil {
					f.Seek(off, io.SeekStart)
					r := bufio.NewReader(f)
					for {
						l, err := r.ReadString('\n')
						if err != nil {
							break
						}
						off += int64(len(l))
						// CRI log format: RFC3339Nano stream tag text
						f := strings.SplitN(strings.TrimRight(l, "\n"), " ", 4)
						if len(f) < 4 {
							continue
						}
						at, err := time.Parse(time.RFC3339Nano, f[0])
						if err != nil {
							continue
						}
						mu.Lock()
						lines = append(lines, logLine{at, f[3]})
						mu.Unlock()
					}
					f.Close()
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() []logLine {
		mu.Lock()
		defer mu.Unlock()
		return append([]logLine(nil), lines...)
	}
}

type logLine struct {
	at   time.Time
	text string
}

// postTo sends POST /fail or /ok to a pod's app, as `app -ctl` does inside it.
func postTo(t *testing.T, ip, what string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Post("http://"+ip+":8080/"+what, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /%s to %s: %s", what, ip, resp.Status)
	}
}
