// Command libapp stands in for a service that links go-healthcheck's client
// package: "libapp -healthcheck" probes the way a v1.0.x binary does; without
// the flag it prints "main ran".
package main

import (
	"fmt"

	_ "github.com/wisdom-oss/go-healthcheck/client"
)

func main() {
	fmt.Println("main ran")
}
