// Package e2e proves hcinit where users run it: against a real Docker engine,
// docker-compose, Docker Swarm and a real single-node Kubernetes cluster, with
// images built FROM scratch from the static binaries (nothing is pulled). Its
// tests run with `go test ./...`; they install and start Docker through
// scripts/deps.sh when it is missing, skip loudly when that is impossible (fail
// instead when $CI is set), and remove every container, network, volume, stack
// and image they made, all of which carry the label hcinit-e2e=1 and
// hcinit-e2e.run=<this run's id>.
//
// The Kubernetes tests (kube_*_test.go) bring the cluster up with
// scripts/k8s.sh up on first use (kubelet, API server, etcd, scheduler,
// controller-manager built from the Go module proxy, a private containerd, a
// CNI bridge), load the example images into it and take it down in TestMain,
// failing the run if anything of it is left. Not being root skips them outside
// CI.
//
// The helper commands internal/testbin/{zcount,orphaner,sleeper,httpget} are
// put into the test image; a scratch image has no shell, ps or curl; pause is
// the cluster's sandbox image.
package e2e
