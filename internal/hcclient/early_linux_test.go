package hcclient

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The early-start helpers run this test binary as PID 1 of a new pid
// namespace (unshare --pid --fork --mount-proc), standing for a container's
// hcinit, and again as its child, standing for an exec probe's
// `hcinit check`: the same program, as in a hcinit container.
func init() {
	switch os.Getenv("HCCLIENT_EARLY") {
	case "pid1":
		os.Exit(earlyPID1())
	case "client":
		os.Exit(earlyClient())
	}
}

// earlyPID1 starts the client at once and listens on $HCCLIENT_EARLY_SOCK
// 100 ms after the client says it is about to ask (never with
// HCCLIENT_EARLY_BIND=never): a hcinit that binds its socket after the
// kubelet's first probe came. It prints the client's output and exits with
// its status.
func earlyPID1() int {
	sock := os.Getenv("HCCLIENT_EARLY_SOCK")
	c := exec.Command("/proc/self/exe")
	c.Env = append(os.Environ(), "HCCLIENT_EARLY=client")
	c.Stderr = os.Stderr
	out, err := c.StdoutPipe()
	if err != nil {
		fmt.Println("pid1:", err)
		return 3
	}
	if err := c.Start(); err != nil {
		fmt.Println("pid1:", err)
		return 3
	}
	r := bufio.NewReader(out)
	if l, _ := r.ReadString('\n'); l != "asking\n" {
		fmt.Printf("pid1: the client said %q\n", l)
		return 3
	}
	if os.Getenv("HCCLIENT_EARLY_BIND") != "never" {
		time.Sleep(100 * time.Millisecond) // the scenario: hcinit binds late
		ln, err := net.Listen("unix", sock)
		if err != nil {
			fmt.Println("pid1:", err)
			return 3
		}
		go func() {
			for {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				buf := make([]byte, 64)
				conn.Read(buf)
				conn.Write([]byte("healthy"))
				conn.Close()
			}
		}()
	}
	rest, _ := r.ReadString(0)
	fmt.Print(rest)
	if err := c.Wait(); err != nil {
		return 1
	}
	return 0
}

// earlyClient asks as `hcinit check` does, with a 5 s deadline, and prints
// the reply or the error and how long it took.
func earlyClient() int {
	fmt.Println("asking")
	start := time.Now()
	reply, err := Ask(start.Add(wait), []string{os.Getenv("HCCLIENT_EARLY_SOCK")}, WordPing, 4096)
	took := time.Since(start)
	if err != nil {
		fmt.Printf("error after %s: %v\n", took, err)
		return 1
	}
	fmt.Printf("reply after %s: %s\n", took, reply)
	return 0
}

func runEarly(t *testing.T, bind string) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("a pid namespace needs root")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare not found")
	}
	c := exec.Command("unshare", "--pid", "--fork", "--mount-proc", os.Args[0])
	c.Env = append(os.Environ(), "HCCLIENT_EARLY=pid1", "HCCLIENT_EARLY_SOCK="+filepath.Join(shortDir(t), "hc.sock"), "HCCLIENT_EARLY_BIND="+bind)
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, _ := c.Output()
	return string(out)
}

// A probe that comes before PID 1 hcinit has bound its socket gets hcinit's
// answer, not "no hcinit answered": Ask waits for a hcinit that started
// less than startBound ago.
func TestAskWaitsForStartingHcinit(t *testing.T) {
	out := runEarly(t, "late")
	if !strings.Contains(out, "reply after") || !strings.HasSuffix(strings.TrimSpace(out), ": healthy") {
		t.Fatalf("a probe 0-100 ms before PID 1 listens: %q; want hcinit's reply", out)
	}
	t.Log(strings.TrimSpace(out))
}

// The wait never makes an answer: when PID 1 never listens, Ask fails, and
// gives up at startBound after PID 1's start, not at its own deadline.
func TestAskStartingHcinitNeverListens(t *testing.T) {
	out := runEarly(t, "never")
	var took time.Duration
	if _, err := fmt.Sscanf(out, "error after %s", new(string)); err != nil || !strings.Contains(out, "no hcinit answered") {
		t.Fatalf("PID 1 never listens: %q; want no hcinit answered", out)
	}
	f := strings.Fields(out)
	took, _ = time.ParseDuration(strings.TrimSuffix(f[2], ":"))
	if took >= wait-time.Second {
		t.Errorf("Ask gave up after %s; want at PID 1's start + %s, well before its %s deadline", took, startBound, wait)
	}
	t.Log(strings.TrimSpace(out))
}

// Outside a starting hcinit's container (here: PID 1 is not this program),
// there is nothing to wait for.
func TestStartingUntilNotHcinit(t *testing.T) {
	if os.Getpid() == 1 {
		t.Skip("the test runs as PID 1")
	}
	if u := startingUntil(time.Now().Add(wait)); !u.IsZero() {
		t.Errorf("startingUntil = %s; want no wait (PID 1 is not this program)", u)
	}
	if age, ok := pid1Age(); !ok || age <= 0 {
		t.Errorf("pid1Age = %s, %v", age, ok)
	}
}
