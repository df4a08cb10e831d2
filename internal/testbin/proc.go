// Package testbin is what the helper programs below it share. The helpers
// (sigprint, waitfile, zombies, orphans, …) are tiny main packages that
// cmd/hcinit's tests build once and put on PATH, so test scripts and the
// processes under test can run them like any other command. zcount,
// orphaner, sleeper and httpget go into the e2e tests' image (a scratch image
// has no shell, ps or curl), pause is the test cluster's sandbox image
// (scripts/k8s.sh).
package testbin

import "github.com/wisdom-oss/go-healthcheck/internal/proc"

// Zombies lists the zombies whose parent is ppid, or every zombie when ppid is 0.
func Zombies(ppid int) []proc.Process {
	var out []proc.Process
	for _, p := range proc.All() {
		if p.State == 'Z' && (ppid == 0 || p.PPID == ppid) {
			out = append(out, p)
		}
	}
	return out
}
