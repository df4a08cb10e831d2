// Command hcinit is a PID-1 supervisor that gives unmodified applications real
// health checks. See `hcinit --help`.
package main

import (
	"os"

	// It subscribes the lethal signals in its init, as early as Go's init
	// order allows: packages are initialised in import-path order as their
	// imports are ready (Go 1.21+), so about 55 of the binary's 77 come
	// first (GODEBUG=inittrace=1). Moving it ahead of them did not shorten
	// the window in which a TERM kills hcinit measurably: the runtime's own
	// start-up is most of it.
	_ "github.com/wisdom-oss/go-healthcheck/internal/earlysig"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
