#!/usr/bin/env bash
# A real single-node Kubernetes cluster for the e2e tests, offline: kubelet,
# kube-apiserver, etcd, kube-scheduler, kube-controller-manager and kubectl
# built from the Go module proxy, a private containerd (Debian's, CRI on) that
# is not the Docker engine's, a locally built pause image and a CNI bridge.
#
# usage: scripts/k8s.sh build|up|down|status|env|load IMAGE[=NAME]...|logs
#   build   install the apt packages and build the binaries once into
#           $HCINIT_K8S_CACHE/$K8S_VERSION/bin (skipped when present; a cold
#           build takes ~11-13 min on 2 cores and prints progress)
#   up      start the cluster (builds first when needed); 5-10 s
#   down    stop it and remove every process, mount, cgroup, bridge and file
#           it made (logs stay in /var/log/hcinit-k8s); safe to run twice
#   env     print KUBECONFIG=, KUBECTL=, API=, TOKEN=, POD_LOGS= for tests
#   load    docker save IMAGE | ctr import into the cluster's containerd,
#           tagged as NAME (default: IMAGE)
# env:  K8S_VERSION (default v1.34.4; 1.35+ refuses cgroup v1),
#       HCINIT_K8S_CACHE (default /var/cache/hcinit-k8s)
#
# Facts this follows (kept from a verified run on these machines): root here
# lacks CAP_SYS_RESOURCE, so runc cannot lower oom_score_adj for a sandbox
# unless containerd's CRI plugin has restrict_oom_score_adj = true; the
# kubelet refuses a loopback node IP; kubelet and libcni write outside their
# roots (/var/lib/kubelet/device-plugins, /var/log/containers, /var/lib/cni).
set -Eeuo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
export PATH="/usr/local/go/bin:/usr/local/sbin:/usr/sbin:/sbin:$PATH"

V=${K8S_VERSION:-v1.34.4}
CACHE=${HCINIT_K8S_CACHE:-/var/cache/hcinit-k8s}/$V
BIN=$CACHE/bin
STATE=/var/lib/hcinit-k8s    # containerd root, kubelet root, etcd, pki, CNI
RUN=/run/hcinit-k8s          # containerd state and socket, runc root, pid files
LOGS=/var/log/hcinit-k8s     # kept after down, for a failed test to show
SOCK=$RUN/containerd.sock
NODE=hcinit-k8s
BRIDGE=hcik8s0
SUBNET=10.244.77.0/24
API_PORT=16443
KCFG=$STATE/kubeconfig
CTR=(ctr --address "$SOCK" --namespace k8s.io)
KUBELET_CHAINS='KUBE-FIREWALL|KUBE-KUBELET-CANARY|KUBE-IPTABLES-HINT' # what kubelet 1.34 adds
COMPONENTS=(kubelet etcd kube-apiserver kube-scheduler kube-controller-manager kubectl)

say() { echo "k8s: $*" >&2; }
die() {
	say "$*"
	exit 1
}

# --- build -------------------------------------------------------------------

apt_deps() {
	local need=()
	command -v containerd >/dev/null || need+=(containerd)
	command -v runc >/dev/null || need+=(runc)
	[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
	command -v openssl >/dev/null || need+=(openssl)
	command -v ip >/dev/null || need+=(iproute2)
	command -v iptables >/dev/null || need+=(iptables)
	command -v docker >/dev/null || command -v dockerd >/dev/null || need+=(docker.io)
	[ ${#need[@]} -eq 0 ] && return
	[ "$(id -u)" = 0 ] || die "missing ${need[*]}; run as root or install them"
	say "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq "${need[@]}" >/dev/null
}

built() {
	local c
	for c in "${COMPONENTS[@]}"; do [ -x "$BIN/$c" ] || return 1; done
}

build() {
	apt_deps
	if built; then
		return
	fi
	command -v go >/dev/null || die "go not found"
	local mod=$CACHE/mod sv=v0${V#v1} # v1.34.4 -> v0.34.4, the staging modules' version
	mkdir -p "$mod"
	local start=$SECONDS
	say "building Kubernetes $V from the Go module proxy into $BIN (once; a cold build takes ~11-13 min on 2 cores)"
	(
		cd "$mod"
		export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
		go mod download -json "k8s.io/kubernetes@$V" >/dev/null
		# k8s.io/kubernetes cannot be required as is: its go.mod replaces its
		# staging modules (k8s.io/api, k8s.io/client-go, ...) with ./staging
		# directories. Replace each with its published version instead.
		local kmod staging
		kmod=$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$V.mod
		staging=$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$kmod")
		[ -n "$staging" ] || die "no staging modules found in $kmod"
		{
			printf 'module hcinit-k8s/build\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$V"
			for m in $staging; do printf '\t%s => %s %s\n' "$m" "$m" "$sv"; done
			printf ')\n'
		} >go.mod
		cat >tools.go <<-'EOF'
			//go:build tools

			// Package tools makes the module require what the cluster is built from.
			package tools

			import (
				_ "go.etcd.io/etcd/server/v3"
				_ "k8s.io/kubernetes/cmd/kube-apiserver"
				_ "k8s.io/kubernetes/cmd/kube-controller-manager"
				_ "k8s.io/kubernetes/cmd/kube-scheduler"
				_ "k8s.io/kubernetes/cmd/kubectl"
				_ "k8s.io/kubernetes/cmd/kubelet"
			)
		EOF
		say "resolving modules"
		go mod tidy -e >/dev/null 2>&1 || true
	)
	local ldv="-X k8s.io/component-base/version.gitVersion=$V -X k8s.io/component-base/version.gitMajor=$(echo "$V" | cut -d. -f1 | tr -d v)"
	ldv+=" -X k8s.io/component-base/version.gitMinor=$(echo "$V" | cut -d. -f2) -X k8s.io/component-base/version.gitTreeState=clean"
	local out=$CACHE/bin.tmp
	rm -rf "$out"
	mkdir -p "$out" "$LOGS"
	: >"$LOGS/build.log"
	(
		cd "$mod"
		export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
		# -v names each package as it is compiled: the progress shown below.
		nice -n 10 go build -v -trimpath -ldflags="-s -w $ldv" -o "$out/" \
			k8s.io/kubernetes/cmd/kubelet go.etcd.io/etcd/server/v3 k8s.io/kubernetes/cmd/kube-apiserver \
			k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-controller-manager \
			k8s.io/kubernetes/cmd/kubectl
	) >"$LOGS/build.log" 2>&1 &
	local pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		if (((SECONDS - start) % 30 < 5)); then
			say "building: $(grep -c . "$LOGS/build.log") packages compiled, $((SECONDS - start))s"
		fi
	done
	if ! wait "$pid"; then
		tail -30 "$LOGS/build.log" >&2
		die "building Kubernetes $V failed (log: $LOGS/build.log)"
	fi
	mv "$out/server" "$out/etcd" # go names etcd's main package after its directory
	rm -rf "$BIN"
	mv "$out" "$BIN"
	say "built Kubernetes $V in $((SECONDS - start))s"
}

# --- up ------------------------------------------------------------------------

# The paths the kubelet and libcni write outside their roots: down removes
# those that did not exist before up.
OUTSIDE=(/var/lib/kubelet /var/log/containers /var/log/pods /var/lib/cni /run/netns)

write_configs() {
	mkdir -p "$STATE"/{cni/net.d,manifests,kubelet,pki} "$RUN" "$LOGS"
	cat >"$STATE/containerd.toml" <<-EOF
		# The test cluster's own containerd: nothing shared with the Docker engine's.
		version = 2
		root = "$STATE/containerd"
		state = "$RUN/containerd"
		[grpc]
		  address = "$SOCK"
		[plugins]
		  [plugins."io.containerd.internal.v1.opt"]
		    path = "$STATE/opt"
		  [plugins."io.containerd.grpc.v1.cri"]
		    # a short name, normalised by the CRI plugin as the kubelet's image names are
		    sandbox_image = "hcinit-k8s-pause:1"
		    stream_server_address = "127.0.0.1"
		    stream_server_port = "0"
		    enable_selinux = false
		    # network namespaces under the state dir, not /run/netns
		    netns_mounts_under_state_dir = true
		    # Root here lacks CAP_SYS_RESOURCE: runc cannot set a sandbox's
		    # oom_score_adj below containerd's own, and the sandbox fails to start.
		    restrict_oom_score_adj = true
		    [plugins."io.containerd.grpc.v1.cri".containerd]
		      snapshotter = "overlayfs"
		      default_runtime_name = "runc"
		      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
		        runtime_type = "io.containerd.runc.v2"
		        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
		          SystemdCgroup = false
		          Root = "$RUN/runc"
		    [plugins."io.containerd.grpc.v1.cri".cni]
		      bin_dir = "/usr/lib/cni"
		      conf_dir = "$STATE/cni/net.d"
	EOF
	cat >"$STATE/cni/net.d/10-hcinit-k8s.conflist" <<-EOF
		{
		  "cniVersion": "0.4.0",
		  "name": "hcinit-k8s",
		  "plugins": [
		    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
		     "ipam": {"type": "host-local", "ranges": [[{"subnet": "$SUBNET"}]], "dataDir": "$STATE/cni/ipam"}},
		    {"type": "loopback"}
		  ]
		}
	EOF
	cat >"$STATE/kubelet.yaml" <<-EOF
		apiVersion: kubelet.config.k8s.io/v1beta1
		kind: KubeletConfiguration
		containerRuntimeEndpoint: unix://$SOCK
		cgroupDriver: cgroupfs
		address: 127.0.0.1
		port: 10250
		readOnlyPort: 0
		healthzBindAddress: 127.0.0.1
		healthzPort: 10248
		authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
		authorization: {mode: AlwaysAllow}
		failSwapOn: false
		resolvConf: /etc/resolv.conf
		evictionHard: {memory.available: "1Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
		imageGCHighThresholdPercent: 100
		imageGCLowThresholdPercent: 99
		nodeStatusUpdateFrequency: 5s
		serializeImagePulls: false
		volumePluginDir: $STATE/kubelet-plugins
		podLogsDir: $STATE/pod-logs
	EOF
	openssl genrsa -out "$STATE/pki/sa.key" 2048 2>/dev/null
	openssl rsa -in "$STATE/pki/sa.key" -pubout -out "$STATE/pki/sa.pub" 2>/dev/null
	local token
	token=$(openssl rand -hex 16)
	echo "$token" >"$RUN/token"
	echo "$token,admin,admin,system:masters" >"$STATE/pki/tokens.csv"
	cat >"$KCFG" <<-EOF
		apiVersion: v1
		kind: Config
		clusters: [{name: hcinit-k8s, cluster: {server: "https://127.0.0.1:$API_PORT", insecure-skip-tls-verify: true}}]
		users: [{name: admin, user: {token: $token}}]
		contexts: [{name: hcinit-k8s, context: {cluster: hcinit-k8s, user: admin}}]
		current-context: hcinit-k8s
	EOF
}

# start NAME BINARY ARGS...: in the background, in its own session, logging to
# $LOGS/NAME.log, its pid in $RUN/NAME.pid.
start() {
	local name=$1
	shift
	setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
	echo $! >"$RUN/$name.pid"
}

# wait_for WHAT SECONDS LOG COMMAND...
wait_for() {
	local what=$1 secs=$2 log=$3
	shift 3
	local i
	for ((i = 0; i < secs * 4; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		# A component that exited will not come up: say so at once.
		if [ -f "$RUN/$what.pid" ] && ! kill -0 "$(cat "$RUN/$what.pid")" 2>/dev/null; then
			say "$what exited; the end of $log:"
			tail -25 "$log" >&2
			return 1
		fi
		sleep 0.25
	done
	say "$what: not ready after ${secs}s; the end of $log:"
	tail -25 "$log" >&2
	return 1
}

kc() { "$BIN/kubectl" --kubeconfig "$KCFG" "$@"; }

pause_image() {
	local dir
	dir=$(mktemp -d)
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$dir/pause" ./internal/testbin/pause
	printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' >"$dir/Dockerfile"
	local out
	out=$(docker build -q -t hcinit-k8s-pause:1 "$dir" 2>&1) || die "building the pause image: $out"
	rm -rf "$dir"
	load hcinit-k8s-pause:1
	docker rmi hcinit-k8s-pause:1 >/dev/null
}

load() {
	local spec src dst
	for spec in "$@"; do
		src=${spec%%=*} dst=${spec#*=}
		docker save "$src" | "${CTR[@]}" images import - >/dev/null
		if [ "$dst" != "$src" ]; then
			# containerd stores the normalised name (what the kubelet asks for
			# too): tag under the same prefix.
			local full
			full=$("${CTR[@]}" images ls -q | awk -v s="$src" '$0 == s || substr($0, length($0) - length(s)) == "/" s { print; exit }')
			[ -n "$full" ] || die "load: $src not found in the cluster's containerd after the import"
			"${CTR[@]}" images tag --force "$full" "${full%"$src"}$dst" >/dev/null
		fi
	done
}

up() {
	[ "$(id -u)" = 0 ] || die "up needs root"
	build
	if [ -e "$RUN/containerd.pid" ]; then
		say "a previous cluster was not taken down; taking it down first"
		down
	fi
	local t0=$SECONDS
	mkdir -p "$RUN"
	: >"$RUN/preexisting"
	for p in "${OUTSIDE[@]}"; do [ -e "$p" ] && echo "$p" >>"$RUN/preexisting"; done
	trap 'say "up failed; taking the cluster down (logs: $LOGS)"; down; exit 1' ERR
	write_configs

	start containerd containerd --config "$STATE/containerd.toml"
	wait_for containerd 30 "$LOGS/containerd.log" "${CTR[@]}" version
	pause_image

	start etcd "$BIN/etcd" --name hcinit-k8s --data-dir "$STATE/etcd" \
		--listen-client-urls http://127.0.0.1:12379 --advertise-client-urls http://127.0.0.1:12379 \
		--listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
		--initial-cluster hcinit-k8s=http://127.0.0.1:12380 --listen-metrics-urls http://127.0.0.1:12381 \
		--quota-backend-bytes 1073741824
	start kube-apiserver "$BIN/kube-apiserver" --etcd-servers http://127.0.0.1:12379 \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port $API_PORT \
		--cert-dir "$STATE/pki/apiserver" --token-auth-file "$STATE/pki/tokens.csv" --authorization-mode AlwaysAllow \
		--service-account-issuer https://kubernetes.default.svc --service-account-key-file "$STATE/pki/sa.pub" \
		--service-account-signing-key-file "$STATE/pki/sa.key" --service-cluster-ip-range 10.96.0.0/24 \
		--disable-admission-plugins ServiceAccount --enable-priority-and-fairness=false \
		--endpoint-reconciler-type none
	wait_for kube-apiserver 90 "$LOGS/kube-apiserver.log" kc get --raw /readyz

	start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig "$KCFG" \
		--bind-address 127.0.0.1 --secure-port 10257 --leader-elect=false \
		--service-account-private-key-file "$STATE/pki/sa.key" --use-service-account-credentials=false
	start kube-scheduler "$BIN/kube-scheduler" --kubeconfig "$KCFG" \
		--bind-address 127.0.0.1 --secure-port 10259 --leader-elect=false
	start kubelet "$BIN/kubelet" --config "$STATE/kubelet.yaml" --kubeconfig "$KCFG" \
		--root-dir "$STATE/kubelet" --cert-dir "$STATE/kubelet/pki" --hostname-override "$NODE"
	node_ready() { [ "$(kc get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
	wait_for "node $NODE" 90 "$LOGS/kubelet.log" node_ready
	# The node's not-ready taint goes with the node lifecycle controller's next pass.
	no_taint() { [ -z "$(kc get node "$NODE" -o 'jsonpath={.spec.taints}')" ]; }
	wait_for "node $NODE untainted" 60 "$LOGS/kube-controller-manager.log" no_taint
	trap - ERR
	say "up in $((SECONDS - t0))s: Kubernetes $V, node $NODE Ready; KUBECONFIG=$KCFG"
}

# --- down ----------------------------------------------------------------------

# ours PID BINARY: the process is still the one we started (pids get reused).
ours() { [ -n "$1" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"; }

# pids_with STRING...: the processes whose command line holds one of them
# (our binaries' and sockets' paths, which no other process names).
pids_with() {
	# The patterns come from a file, so this grep does not find itself.
	grep -lsFf <(printf '%s\n' "$@") /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3 || true
}

stop() { # stop NAME BINARY: TERM, up to 15 s, then KILL
	local name=$1 bin=$2 pid i
	[ -f "$RUN/$name.pid" ] || return 0
	pid=$(cat "$RUN/$name.pid")
	if ours "$pid" "$bin"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 60; i++)); do ours "$pid" "$bin" || break; sleep 0.25; done
		if ours "$pid" "$bin"; then
			say "$name did not stop on TERM in 15s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.5
		fi
	fi
	rm -f "$RUN/$name.pid"
}

down() {
	[ "$(id -u)" = 0 ] || die "down needs root"
	trap - ERR
	set +e
	local t0=$SECONDS pid
	# Pods first, through the API, so the kubelet stops them and CNI DEL runs.
	if [ -f "$RUN/kube-apiserver.pid" ] && [ -x "$BIN/kubectl" ] && kc get --raw /readyz >/dev/null 2>&1; then
		kc delete namespaces -l hcinit-e2e=1 --wait=false >/dev/null 2>&1
		kc delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1
		local i
		for ((i = 0; i < 120; i++)); do
			[ -z "$("${CTR[@]}" tasks ls -q 2>/dev/null)" ] && break
			sleep 0.25
		done
	fi
	stop kubelet "$BIN/kubelet"
	# Whatever is still running: kill it through containerd, so its shim exits.
	if [ -S "$SOCK" ]; then
		local c
		for c in $("${CTR[@]}" tasks ls -q 2>/dev/null); do
			"${CTR[@]}" tasks kill -a -s KILL "$c" >/dev/null 2>&1
		done
		sleep 0.5
		for c in $("${CTR[@]}" containers ls -q 2>/dev/null); do
			"${CTR[@]}" tasks delete -f "$c" >/dev/null 2>&1
			"${CTR[@]}" containers delete "$c" >/dev/null 2>&1
		done
	fi
	stop kube-scheduler "$BIN/kube-scheduler"
	stop kube-controller-manager "$BIN/kube-controller-manager"
	stop kube-apiserver "$BIN/kube-apiserver"
	stop etcd "$BIN/etcd"
	stop containerd "$STATE/containerd.toml"
	# Shims outlive containerd; ours name its socket in their arguments.
	for pid in $(pids_with "$SOCK"); do kill -KILL "$pid" 2>/dev/null; done
	# Mounts: network namespaces the CRI plugin made, and anything under our dirs.
	local m
	for m in $(awk '{print $2}' /proc/mounts | grep -E "^($STATE|$RUN)/|^/run/netns/cni-|^/var/run/netns/cni-" | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	rm -f /run/netns/cni-* 2>/dev/null
	# cgroups the kubelet made (cgroupfs driver), in every hierarchy, deepest first.
	for m in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
		[ -d "$m" ] && find "$m" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	ip link del "$BRIDGE" 2>/dev/null
	# The kubelet's iptables chains (KUBE-FIREWALL, jumped to from INPUT and
	# OUTPUT, and its canaries): the jumps first, then the chains.
	local ipt t rule
	for ipt in iptables ip6tables; do
		command -v $ipt >/dev/null || continue
		for t in filter nat mangle; do
			$ipt -w -t $t -S 2>/dev/null | grep -E -- "^-A .* -j ($KUBELET_CHAINS)( |\$)" | sed 's/^-A/-D/' | while read -r rule; do
				eval "$ipt -w -t $t $rule" 2>/dev/null
			done
			for ch in ${KUBELET_CHAINS//|/ }; do
				$ipt -w -t $t -F "$ch" 2>/dev/null
				$ipt -w -t $t -X "$ch" 2>/dev/null
			done
		done
	done
	local p
	for p in "${OUTSIDE[@]}"; do
		grep -qxF "$p" "$RUN/preexisting" 2>/dev/null || rm -rf "$p"
	done
	rm -rf "$STATE" "$RUN"
	# What is left is reported: a test run must not leave the cluster behind.
	local left=()
	for m in /sys/fs/cgroup/*/kubepods; do [ -d "$m" ] && left+=("cgroup $m"); done
	ip link show "$BRIDGE" >/dev/null 2>&1 && left+=("bridge $BRIDGE")
	grep -qE " ($STATE|$RUN)" /proc/mounts && left+=("mounts under $STATE or $RUN")
	iptables -w -S 2>/dev/null | grep -qE -- "^-N ($KUBELET_CHAINS)\$" && left+=("iptables chains of the kubelet")
	for pid in $(pids_with "$BIN/" "$SOCK" "$STATE/"); do
		left+=("process $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-70))")
	done
	if [ ${#left[@]} -gt 0 ]; then
		say "down left: ${left[*]}"
		return 1
	fi
	say "down in $((SECONDS - t0))s: no process, mount, cgroup or bridge left"
}

status() {
	local name
	for name in containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet; do
		if [ -f "$RUN/$name.pid" ] && kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
			echo "$name: running (pid $(cat "$RUN/$name.pid"))"
		else
			echo "$name: not running"
		fi
	done
}

# The e2e tests hold this lock while their cluster runs (and pass
# HCINIT_K8S_LOCKED=1 to their own up and down): by hand, up and down refuse
# to touch a cluster a test run is using.
unlocked() {
	[ -n "${HCINIT_K8S_LOCKED:-}" ] && return
	command -v flock >/dev/null || return 0
	flock -n /run/hcinit-k8s.lock true 2>/dev/null || die "a test run is using the cluster (/run/hcinit-k8s.lock); try again when it is done"
}

case ${1:-} in
build) build ;;
up) unlocked && up ;;
down) unlocked && down ;;
status) status ;;
env)
	echo "KUBECONFIG=$KCFG"
	echo "KUBECTL=$BIN/kubectl"
	echo "API=https://127.0.0.1:$API_PORT"
	echo "TOKEN=$(cat "$RUN/token" 2>/dev/null)"
	echo "POD_LOGS=$STATE/pod-logs"
	echo "LOGS=$LOGS"
	echo "VERSION=$V"
	;;
load)
	shift
	load "$@"
	;;
logs) tail -n 30 "$LOGS"/*.log ;;
-h | --help | help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" ;;
*)
	echo "usage: scripts/k8s.sh build|up|down|status|env|load IMAGE[=NAME]...|logs" >&2
	exit 2
	;;
esac
