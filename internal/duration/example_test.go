package duration_test

import (
	"fmt"

	"github.com/wisdom-oss/go-healthcheck/internal/duration"
)

// Durations as Go writes them or as plain seconds, as tini's and Docker's users do.
func ExampleParse() {
	for _, s := range []string{"10", "0.5", "1m30s", "250ms", "-1s", "soon"} {
		d, err := duration.Parse(s)
		fmt.Println(d, err)
	}
	// Output:
	// 10s <nil>
	// 500ms <nil>
	// 1m30s <nil>
	// 250ms <nil>
	// 0s negative duration "-1s"
	// 0s want a duration such as 10s or 500ms, have "soon"
}
