package hcclient

import (
	"bytes"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// startBound is how long after its container's start a client waits for a
// hcinit that is not listening yet. hcinit binds its sockets 5-15 ms after
// its exec on an idle machine, more on a starved one; the bound stays within
// the kubelet's shortest probe timeout (timeoutSeconds 1), which counts from
// an exec that came after the container started.
const startBound = time.Second

// startingUntil says how long Ask may wait for this container's hcinit to
// start listening: until the earlier of deadline and startBound after PID 1
// started, when PID 1 runs the same program as the caller (it is the hcinit
// that will listen: an exec probe's `hcinit check` in a hcinit container) and
// started less than startBound ago. Otherwise, the zero time: no wait.
func startingUntil(deadline time.Time) time.Time {
	if os.Getpid() == 1 || !pid1SameProgram() {
		return time.Time{}
	}
	age, ok := pid1Age()
	if !ok || age < 0 || age >= startBound {
		return time.Time{}
	}
	until := time.Now().Add(startBound - age)
	if deadline.Before(until) {
		return deadline
	}
	return until
}

// pid1SameProgram: PID 1 of this pid namespace runs this executable (the same
// file), or, where /proc/1/exe may not be looked at (another user's process:
// ptrace access), has this process's command name.
func pid1SameProgram() bool {
	var one, self unix.Stat_t
	if unix.Stat("/proc/1/exe", &one) == nil && unix.Stat("/proc/self/exe", &self) == nil {
		return one.Dev == self.Dev && one.Ino == self.Ino
	}
	c1, err1 := os.ReadFile("/proc/1/comm")
	cs, err2 := os.ReadFile("/proc/self/comm")
	return err1 == nil && err2 == nil && len(c1) > 1 && bytes.Equal(c1, cs)
}

// pid1Age is how long ago PID 1 started: /proc/1/stat's starttime (field 22,
// clock ticks since boot; USER_HZ is 100 on every architecture Go supports)
// against CLOCK_BOOTTIME, both as a time namespace shows them.
func pid1Age() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/1/stat")
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold anything
	if i < 0 || i+2 > len(b) {
		return 0, false
	}
	f := bytes.Fields(b[i+2:]) // f[0] is field 3, the state
	if len(f) < 20 {
		return 0, false
	}
	ticks, err := strconv.ParseUint(string(f[19]), 10, 64)
	if err != nil {
		return 0, false
	}
	var now unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &now) != nil {
		return 0, false
	}
	return time.Duration(now.Nano()) - time.Duration(ticks)*(time.Second/100), true
}
