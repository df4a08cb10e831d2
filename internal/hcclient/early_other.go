//go:build !linux

package hcclient

import "time"

// startingUntil: hcinit runs on Linux only; elsewhere Ask never waits.
func startingUntil(time.Time) time.Time { return time.Time{} }
