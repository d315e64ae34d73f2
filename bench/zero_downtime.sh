#!/usr/bin/env bash
# Benchmark: does a deploy drop anything? Keep-alive and new-connection load through the proxy, plus an
# always-open slow request, SSE stream, 1 MiB POST and WebSocket, while the app is redeployed back to
# back on each runtime (process, docker), then while Rhone itself is upgraded in place; then cold vs
# cached image build time. Prints its numbers (see bench/zero_downtime/main.py for how each is measured);
# exits 1 if a request failed, reached an old version after its switch, or a long-lived connection
# ended otherwise than expected. Needs a Docker engine (server/tests/docker.sh starts one and builds
# the local base image rhone-test/python:3).
# usage: bench/zero_downtime.sh <path-to-rhone> [redeploys=20] [upgrades=3]
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER_HOST=$(bash server/tests/docker.sh | tail -n1)
export DOCKER_HOST
python3 bench/zero_downtime/main.py "${1:?path to the rhone binary}" "${2:-20}" "${3:-3}"
