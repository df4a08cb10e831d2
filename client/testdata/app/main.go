// Command app is a stand-in for a service that links the client package.
package main

import (
	"fmt"

	_ "github.com/wisdom-oss/go-healthcheck/client"
)

func main() {
	fmt.Println("main ran")
}
