//go:build !linux

package reaper

// hush and loud change SIGCHLD's disposition on Linux only; elsewhere RunOn
// keeps receiving the signal while it waits in wait4.
func hush() bool { return false }
func loud()      {}
