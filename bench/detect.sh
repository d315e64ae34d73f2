#!/usr/bin/env bash
# Report: the build plan of every detection fixture (provider, start, tools; median time of
# `rhone plan`), then cold and cached builds of real apps of each kind through a running Rhone: cold =
# a fresh tools dir and fresh app homes (tools and dependencies come from the registries), cached = the
# same app deployed again (tools kept, package caches warm). Prints numbers; asserts nothing.
# usage: bench/detect.sh <path-to-rhone> [--plans-only]
set -euo pipefail
BIN=$(realpath "${1:?path to the rhone binary}")
cd "$(dirname "$0")/.."
python3 bench/detect.py plans --bin "$BIN" --fixtures domain/tests/fixtures/detect
[ "${2:-}" = "--plans-only" ] && exit 0
source bench/start-rhone.sh
python3 bench/detect.py builds --api "http://127.0.0.1:$API" --proxy-port "$PROXY" --work "$TMP"
