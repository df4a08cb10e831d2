// Package e2e proves hcinit where users run it: against a real Docker engine,
// docker-compose and Docker Swarm, with images built FROM scratch from the
// static binaries (nothing is pulled). Its tests run with `go test ./...`; they
// install and start Docker through scripts/deps.sh when it is missing, skip
// loudly when that is impossible (fail instead when $CI is set), and remove
// every container, network, volume, stack and image they made, all of which
// carry the label hcinit-e2e=1 and hcinit-e2e.run=<this run's id>.
//
// The helper commands under e2e/cmd (zcount, orphaner, sleeper, httpget) are
// put into the test image; a scratch image has no shell, ps or curl.
package e2e
