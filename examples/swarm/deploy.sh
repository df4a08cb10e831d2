#!/usr/bin/env bash
# Deploys examples/swarm/stack.yml to the local Swarm as stack $STACK, using the
# locally built image hcinit-example-legacy-http:$TAG; nothing is pulled.
# Needs a Swarm: docker swarm init --advertise-addr 127.0.0.1
#
# usage: [STACK=hcinit-demo] [TAG=dev] examples/swarm/deploy.sh
set -euo pipefail
cd "$(dirname "$0")"
STACK=${STACK:-hcinit-demo}
TAG=${TAG:-dev}
# By ID: given a name, Swarm's agent tries to pull the image before starting
# each task (moby's container executor, pullImage), --resolve-image never or not.
IMAGE=$(docker image inspect --format '{{.Id}}' "hcinit-example-legacy-http:$TAG")
export IMAGE
docker stack deploy --resolve-image never -c stack.yml "$STACK"
