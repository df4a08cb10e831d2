//go:build !linux

package hcclient

import "time"

// direct: no blocking-socket exchange here; ask goes through the net package.
const direct = false

func askDirect(time.Time, string, string, int64) ([]byte, error, error, error) {
	panic("hcclient: askDirect without direct")
}
