// Command hcinit is a PID-1 supervisor that gives unmodified applications real
// health checks. See `hcinit --help`.
package main

import (
	"os"

	// First: it subscribes the signals before any other package's init.
	_ "github.com/wisdom-oss/go-healthcheck/internal/earlysig"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
