#!/usr/bin/env bash
# Installs what the tests need when it is missing, and starts dockerd when it is
# not running. Idempotent; safe to run on a fresh Debian machine as root.
set -euo pipefail

need=()
# dockerd, not docker: some machines come with a docker CLI but no engine.
for pair in tini:tini dumb-init:dumb-init catatonit:catatonit curl:curl wget:wget \
	supervisord:supervisor s6-svscan:s6 prometheus:prometheus \
	dockerd:docker.io hyperfine:hyperfine unshare:util-linux script:bsdutils \
	qemu-aarch64-static:qemu-user-static qemu-s390x-static:qemu-user-static; do
	cmd=${pair%%:*} pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || need+=("$pkg")
done
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null 2>&1; then
	need+=(docker-compose)
fi
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing ${need[*]}; run as root or install them" >&2
		exit 1
	fi
	echo "deps: installing ${need[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq $(printf '%s\n' "${need[@]}" | sort -u) >/dev/null
fi

# dockerd: start it in the background when no engine answers.
if ! docker info >/dev/null 2>&1; then
	echo "deps: starting dockerd" >&2
	mkdir -p /var/log
	# A dockerd killed with the previous session leaves its pid files behind.
	for f in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
		if [ -f "$f" ] && ! kill -0 "$(cat "$f" 2>/dev/null)" 2>/dev/null; then rm -f "$f"; fi
	done
	dockerd=$(command -v dockerd || echo /usr/sbin/dockerd) # sbin may be off PATH
	nohup "$dockerd" >/var/log/hcinit-dockerd.log 2>&1 &
	for _ in $(seq 1 60); do
		docker info >/dev/null 2>&1 && break
		sleep 1
	done
	docker info >/dev/null 2>&1 || { echo "deps: dockerd did not start; see /var/log/hcinit-dockerd.log" >&2; tail -20 /var/log/hcinit-dockerd.log >&2; exit 1; }
fi
echo "deps: ready" >&2
