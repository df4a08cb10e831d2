// Command hcinit is a PID-1 supervisor that gives unmodified applications real
// health checks. See `hcinit --help`.
package main

import (
	"os"

	// It subscribes the lethal signals in its init, right after os/signal's:
	// Go initialises packages in import-path order as their imports are
	// ready (Go 1.21+), and it imports nothing heavier (see internal/siglist).
	_ "github.com/wisdom-oss/go-healthcheck/internal/earlysig"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
