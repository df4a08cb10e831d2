package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wisdom-oss/go-healthcheck/supervisor/health"
)

// box is a container as far as finding hcinit can tell: PID 1 of fresh mount
// and pid namespaces, with private tmpfs on /run, /tmp and /dev/shm (remounted
// read-only with ro, a read-only root), in a fresh network namespace or in the
// one of the box it joins (`docker run --network container:X`, a pod).
type box struct {
	p   *proc
	pid int // PID 1 of the box, as this side numbers it
}

// boxScript prepares the box and execs its command. The binaries are copied
// onto /run first: /tmp, where they live, is covered by the box's own.
const boxScript = `set -e
mount -t tmpfs hc /run
mkdir /run/bin
cp "$BIN/hcinit" "$BIN/sigprint" "$BIN/libapp" /run/bin/
mount -t tmpfs hc /tmp
mount -t tmpfs hc /dev/shm
if [ "$RO" = 1 ]; then
	mount -o remount,ro /run
	mount -o remount,ro /tmp
	mount -o remount,ro /dev/shm
fi
cd /run
unset HCINIT_SOCKET
exec "$@"`

// startBox runs argv (paths below /run/bin) as the box's PID 1 and waits for
// the printer called name.
func startBox(t *testing.T, join *box, ro bool, name string, argv ...string) (*box, error) {
	needRoot(t)
	cmd := []string{"unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc", "--kill-child"}
	if join == nil {
		cmd = append([]string{"unshare", "--net", "--"}, cmd...)
	} else {
		cmd = append([]string{"nsenter", "-t", strconv.Itoa(join.pid), "-n", "--"}, cmd...)
	}
	cmd = append(append(cmd, "sh", "-c", boxScript, "sh"), argv...)
	roVal := "0"
	if ro {
		roVal = "1"
	}
	p, err := spawn(t, cmd, withEnv("BIN="+binDir, "RO="+roVal))
	if err != nil {
		return nil, err
	}
	if err := p.out.ready(readyWait, name); err != nil {
		return nil, fmt.Errorf("box %s: %v%s", name, err, p.stderrNote())
	}
	// unshare (exec'd by nsenter, or by the first unshare) forks PID 1.
	var pid int
	for _, c := range []string{"hcinit", "sigprint"} {
		if pid, err = childOf(p.pid(), c, time.Second); err == nil {
			break
		}
	}
	if pid == 0 {
		return nil, fmt.Errorf("box %s: no PID 1 found below %d", name, p.pid())
	}
	return &box{p: p, pid: pid}, nil
}

// exec runs argv in the box as `docker exec` does (its mount, pid and network
// namespaces, its PID 1's working directory), with the extra nsenter flags,
// and returns stdout, stderr and the exit code.
func (b *box) exec(nsflags []string, argv ...string) (string, string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	args := append([]string{"-t", strconv.Itoa(b.pid), "-m", "-p", "-n", "-w"}, nsflags...)
	args = append(append(args, "--", "env", "-u", "HCINIT_SOCKET"), argv...)
	c := exec.CommandContext(ctx, "nsenter", args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.Exited():
		return out.String(), errb.String(), ee.ExitCode(), nil
	case err != nil:
		return out.String(), errb.String(), -1, fmt.Errorf("nsenter %v: %v (stderr %q)", argv, err, errb.String())
	}
	return out.String(), errb.String(), 0, nil
}

// statusIn waits up to d until `hcinit status --json` in the box answers with
// a state cond accepts.
func (b *box) statusIn(d time.Duration, what string, cond func(health.Status) bool) (health.Status, error) {
	deadline := time.Now().Add(d)
	for {
		var st health.Status
		out, errOut, _, err := b.exec(nil, "/run/bin/hcinit", "status", "--json", "--timeout", "3s")
		if err == nil {
			err = json.Unmarshal([]byte(out), &st)
			if err != nil {
				err = fmt.Errorf("%v (stdout %q, stderr %q)", err, out, errOut)
			}
		}
		if err == nil && cond(st) {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("%s: not within %s (last: %+v, %v)", what, d, st, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func targetOf(st health.Status) string {
	if len(st.Checks) == 0 {
		return ""
	}
	return st.Checks[0].Target
}

// Two containers sharing one network namespace (so one set of abstract
// sockets), with writable and with read-only file systems: `hcinit check`,
// `hcinit status` and a library binary's -healthcheck in each get their own
// container's answer. Before the fix, with read-only roots the second hcinit
// found @hcinit taken and bound nothing, and its clients reported the first
// container's health. A third container without any hcinit gets no answer at
// all, instead of borrowing one.
func TestDiscoverySharedNetwork(t *testing.T) {
	t.Parallel()
	for _, ro := range []bool{false, true} {
		t.Run(map[bool]string{false: "writable", true: "read-only"}[ro], func(t *testing.T) {
			t.Parallel()
			a, err := startBox(t, nil, ro, "A", "/run/bin/hcinit", "--interval", "200ms", "--check", "exec=/bin/true",
				"--", "/run/bin/sigprint", "-name", "A")
			if err != nil {
				t.Fatal(err)
			}
			// A must hold @hcinit before B starts: B is the one that finds it taken.
			if _, err := a.statusIn(readyWait, "A healthy", func(st health.Status) bool { return st.Overall == health.StatusHealthy }); err != nil {
				t.Fatal(err)
			}
			b, err := startBox(t, a, ro, "B", "/run/bin/hcinit", "--interval", "200ms", "--retries", "1", "--check", "exec=/bin/false",
				"--", "/run/bin/sigprint", "-name", "B")
			if err != nil {
				t.Fatal(err)
			}
			c, err := startBox(t, a, ro, "C", "/run/bin/sigprint", "-name", "C")
			if err != nil {
				t.Fatal(err)
			}

			st, err := b.statusIn(readyWait, "B's own state", func(st health.Status) bool { return st.Overall == health.StatusUnhealthy })
			if err != nil {
				t.Fatal(err)
			}
			if tg := targetOf(st); !strings.Contains(tg, "/bin/false") {
				t.Fatalf("hcinit status in B answered for the check %q, want B's /bin/false", tg)
			}
			if st, err := a.statusIn(time.Second, "A's own state", func(health.Status) bool { return true }); err != nil || !strings.Contains(targetOf(st), "/bin/true") {
				t.Fatalf("hcinit status in A: check %q, %v; want A's /bin/true", targetOf(st), err)
			}

			for _, tc := range []struct {
				in   *box
				name string
				want int
			}{{a, "A", 0}, {b, "B", 1}, {c, "C (no hcinit)", 1}} {
				out, _, code, err := tc.in.exec(nil, "/run/bin/hcinit", "check", "--timeout", "3s")
				if err != nil {
					t.Fatal(err)
				}
				if code != tc.want {
					t.Errorf("hcinit check in %s: exit %d (%s), want %d", tc.name, code, strings.TrimSpace(out), tc.want)
				}
				out, errOut, code, err := tc.in.exec(nil, "/run/bin/libapp", "-healthcheck")
				if err != nil {
					t.Fatal(err)
				}
				if code != tc.want {
					t.Errorf("libapp -healthcheck in %s: exit %d (%s%s), want %d", tc.name, code, out, errOut, tc.want)
				}
				if tc.in == c && !strings.Contains(errOut, "no hcinit of this container answered") {
					t.Errorf("libapp -healthcheck in C says %q; want it to say no hcinit of its container answered", errOut)
				}
			}
			// B found A's @hcinit taken: normal in a pod (each container has
			// its own hcinit, and B's clients reached B's), so no warning in
			// B's log, which is the application's (kubectl logs).
			if strings.Contains(b.p.stderr(), "in use by another live server") {
				t.Errorf("B warned about A's sockets, which a pod's containers always share:\n%s", b.p.stderr())
			}
			// The reason another container's hcinit was skipped is in the answer.
			out, _, _, _ := c.exec(nil, "/run/bin/hcinit", "check", "--socket", "@hcinit", "--timeout", "3s")
			if !strings.Contains(out, "not this container's server") {
				t.Errorf("hcinit check in C against A's @hcinit says %q; want it skipped as another container's", strings.TrimSpace(out))
			}
		})
	}
}

// A client that is not root may not read the namespaces of root's hcinit
// (ptrace access); it proves the server is its container's from the mount
// table, which it may read.
func TestDiscoveryNonRootClient(t *testing.T) {
	t.Parallel()
	a, err := startBox(t, nil, false, "A", "/run/bin/hcinit", "--user", "65534", "--interval", "200ms",
		"--", "/run/bin/sigprint", "-name", "A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.statusIn(readyWait, "healthy", func(st health.Status) bool { return st.Overall == health.StatusHealthy }); err != nil {
		t.Fatal(err)
	}
	out, errOut, code, err := a.exec([]string{"-S", "65534", "-G", "65534"}, "/run/bin/hcinit", "check", "--timeout", "3s")
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Errorf("hcinit check as uid 65534: exit %d (%s%s), want 0", code, strings.TrimSpace(out), errOut)
	}
}

// On the host there is no container to belong to: a library binary with no
// name file of its own must not borrow the hcinit it happens to reach at
// @hcinit (here in a private network namespace, so no other test sees it).
func TestDiscoveryHostBorrowsNothing(t *testing.T) {
	t.Parallel()
	needRoot(t)
	p, err := spawn(t, []string{"unshare", "--net", "--", hcinitBin(), "--socket", "@hcinit", "--interval", "200ms",
		"--", "sigprint", "-name", "H"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "H"); err != nil {
		t.Fatal(err)
	}
	run := func(argv ...string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(p.pid()), "-n", "--", "env", "-u", "HCINIT_SOCKET"}, argv...)...)
		c.Dir = t.TempDir() // no .hc-socket here
		out, err := c.CombinedOutput()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("%v: %v", argv, err)
		}
		return string(out), c.ProcessState.ExitCode()
	}
	// hcinit check asked for this socket by name: same mount namespace, believed.
	deadline := time.Now().Add(readyWait)
	for {
		out, code := run(hcinitBin(), "check", "--socket", "@hcinit", "--timeout", "3s")
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hcinit check --socket @hcinit: exit %d (%s)", code, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, code := run("libapp", "-healthcheck")
	if code != 1 || !strings.Contains(out, "not a container's init") {
		t.Errorf("libapp -healthcheck on the host with someone's hcinit at @hcinit: exit %d (%s); want 1, not a container's init", code, strings.TrimSpace(out))
	}
}

// -healthcheck means "check" wherever it stands among hcinit's options, as
// go-healthcheck v1.0.x read it anywhere in its arguments, and nothing a
// health probe sends makes hcinit exit 2 (Docker reserves it).
func TestHealthcheckAnywhere(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "hc.sock")
	p, err := spawn(t, []string{hcinitBin(), "--socket", sock, "--interval", "200ms", "--", "sigprint"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.out.ready(readyWait, "child"); err != nil {
		t.Fatal(err)
	}
	if _, err := waitStatus(sock, readyWait, "healthy", func(st health.Status) bool { return st.Overall == health.StatusHealthy }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"--socket", sock, "-healthcheck"}, 0},
		{[]string{"--socket=" + sock, "--healthcheck"}, 0},
		{[]string{"-healthcheck", "--socket", sock}, 0},
		{[]string{"--socket", sock + ".none", "-healthcheck"}, 1},
		{[]string{"--bogus", "-healthcheck"}, 1},
		{[]string{"-healthcheck", "--bogus"}, 1},
		{[]string{"--check", "exec=/bin/true", "-healthcheck"}, 1},
		{[]string{"check", "--socket"}, 1},
		{[]string{"status", "--live"}, 1},
	} {
		out, code, err := hcinitClient(tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		if code != tc.want {
			t.Errorf("hcinit %s: exit %d (%s), want %d", strings.Join(tc.args, " "), code, strings.TrimSpace(out), tc.want)
		}
	}
}
