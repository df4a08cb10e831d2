package health

// An exec probe that daemonises (setsid, a double fork) leaves its process
// group and session, so killing the probe's group misses it, and one such
// process would pile up per run. Every process a run starts carries the
// environment variable probeRunEnv with a token of that run (inherited unless
// a process clears its environment); when the run ends, hcinit kills every
// process whose environment holds the token, found through /proc. cgroups
// would also catch a process that clears its environment, but are not
// available to hcinit in most containers.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// probeRunEnv names the token of an exec probe's run in its environment.
const probeRunEnv = "HCINIT_PROBE_RUN"

var probeRuns atomic.Uint64

// runTokenPrefix is this hcinit's part of its runs' tokens: its pid and a
// random number. The pid alone is not unique where the tokens are looked
// for: an hcinit that is PID 1 of a nested pid namespace (docker-in-docker,
// kind) is pid 1 too, and its processes are in the outer one's /proc, so
// the outer one's runs killed the inner one's probes.
var runTokenPrefix = sync.OnceValue(func() string {
	var b [8]byte
	rand.Read(b[:])
	return strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:]) + "-"
})

// newRunToken returns a token no other run shares, of this hcinit or another.
func newRunToken() string {
	return runTokenPrefix() + strconv.FormatUint(probeRuns.Add(1), 10)
}

// rescanDelay separates killRun's first pass from its second: a process in
// the middle of execve (setsid exec'ing the daemon) shows an empty environ for
// a moment, and one scan alone let such a daemon escape (seen under load).
const rescanDelay = 10 * time.Millisecond

// killRun kills every process that carries the run's token, in at least two
// passes rescanDelay apart (one may be mid-exec) and up to four (one may fork
// while being found). It returns how many it killed.
func killRun(token string) int {
	want := []byte(probeRunEnv + "=" + token + "\x00")
	self := os.Getpid()
	killed := 0
	for pass := 0; pass < 4; pass++ {
		n := 0
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self {
				continue
			}
			env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
			if err != nil || !bytes.Contains(append([]byte{0}, env...), append([]byte{0}, want...)) {
				continue
			}
			if unix.Kill(pid, unix.SIGKILL) == nil {
				n++
			}
		}
		killed += n
		switch {
		case n == 0 && pass > 0:
			return killed
		case n == 0:
			time.Sleep(rescanDelay)
		}
	}
	return killed
}
