// Go 1.25 and later re-read the cgroup CPU limit and the CPU affinity once a
// second while the process is busy (sysmon: an open cgroup file's pread and
// sched_getaffinity) to follow a changed limit with GOMAXPROCS. For a
// supervisor that runs a check every second that is two system calls and the
// code behind them each time, for a limit it has no use for following: its
// own work is a few short goroutines. Set here, not in the environment, so
// the child's runtime keeps the default.

//go:debug updatemaxprocs=0

package main
