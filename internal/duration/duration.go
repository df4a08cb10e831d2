// Package duration parses durations the way Docker's and tini's users write
// them: Go durations ("1m30s", "250ms") or bare numbers of seconds ("10", "0.5").
package duration

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Parse accepts a Go duration or a number of seconds; negative, infinite, NaN
// and overflowing values are errors.
func Parse(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		switch {
		case math.IsNaN(f) || math.IsInf(f, 0):
			return 0, fmt.Errorf("want a duration such as 10s or 500ms, have %q", v)
		case f < 0:
			return 0, fmt.Errorf("negative duration %q", v)
		case f*float64(time.Second) >= math.MaxInt64:
			return 0, fmt.Errorf("duration %q too long", v)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 10s or 500ms, have %q", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", v)
	}
	return d, nil
}
