// Command pause is the pod sandbox image of the test cluster (scripts/k8s.sh):
// every pod's network namespace is held by one such process. Like Kubernetes'
// own pause container it waits for TERM or INT and reaps whatever is
// re-parented to it; nothing is pulled, so it is built here, FROM scratch.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
