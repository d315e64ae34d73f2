# Rhone: `make run` sets everything up and starts Rhone; `make test` sets everything up and runs every test.
# Both work on a fresh Debian machine: missing tools are installed (apt, npm, cargo install).
SHELL := /bin/bash
.DEFAULT_GOAL := help

export CARGO_TARGET_DIR ?= $(HOME)/.cache/rhone-target
TOOLS ?= $(HOME)/.cache/rhone-tools
export PATH := $(TOOLS)/bin:$(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
CARGO_LEPTOS_VERSION := 0.3.10
WASM_BINDGEN_VERSION := 0.2.130
# cargo-leptos builds the dev server with these variables (some are read at compile time); the Rust
# tests use the same, so they reuse its artifacts and never replace `rhone` with a binary that asks
# for differently named wasm files.
LEPTOS_BUILD_ENV := RUSTFLAGS="--cfg erase_components" LEPTOS_OUTPUT_NAME=rhone LEPTOS_SITE_ROOT=target/site \
  LEPTOS_SITE_PKG_DIR=pkg LEPTOS_SITE_ADDR=127.0.0.1:3000 LEPTOS_RELOAD_PORT=3001 LEPTOS_LIB_DIR=frontend \
  LEPTOS_BIN_DIR=server LEPTOS_JS_MINIFY=false LEPTOS_HASH_FILES=false
BIN := $(CARGO_TARGET_DIR)/debug/rhone
APT := DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: help setup system-deps rust-tools node-deps build build-release run dev test test-unit test-e2e bench clean

help:
	@echo "make run    set up and start Rhone (dashboard http://127.0.0.1:3000, apps on http://<slug>.localhost:8080)"
	@echo "make dev    the same from a debug build (fast to rebuild; a large unoptimized wasm)"
	@echo "make test   set up and run every test (unit, integration, browser)"
	@echo "make bench  benchmarks: deploy overhead + idle RSS, proxy vs direct, restarts, zero-downtime deploys (release build)"

setup: system-deps rust-tools node-deps

system-deps:
	@missing=""; \
	for p in git:git chromium:chromium python3:python3 node:nodejs npm:npm go:golang-go curl:curl ssh-keygen:openssh-client /usr/sbin/sshd:openssh-server pebble-challtestsrv:pebble /usr/sbin/named:bind9 dig:bind9-dnsutils; do \
	  command -v $${p%%:*} >/dev/null || missing="$$missing $${p##*:}"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; $(APT) update -q && $(APT) install -y -q $$missing; fi

rust-tools:
	@rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	@cargo-leptos --version 2>/dev/null | grep -q "$(CARGO_LEPTOS_VERSION)" || \
	  cargo install cargo-leptos --locked --version $(CARGO_LEPTOS_VERSION) --root $(TOOLS)
	@wasm-bindgen --version 2>/dev/null | grep -q "$(WASM_BINDGEN_VERSION)" || \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --root $(TOOLS)

node_modules/.package-lock.json: package.json package-lock.json
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
node-deps: node_modules/.package-lock.json

build: setup
	cargo leptos build --split

# The dashboard as users get it: the wasm optimized by wasm-opt (binaryen from npm, in node_modules/.bin:
# cargo-leptos would otherwise download it from GitHub), js minified, hashed file names (their names in
# hash.txt next to the binary) and .br/.gz copies the asset server picks from; then the sizes.
RELEASE_BIN := $(CARGO_TARGET_DIR)/release/rhone
build-release: setup
	@command -v wasm-opt >/dev/null || { echo "wasm-opt is missing: npm ci installs binaryen"; exit 1; }
	RUSTFLAGS="--cfg erase_components" LEPTOS_HASH_FILES=true cargo leptos build --release --split --precompress
	bash bench/assets.sh target/site/pkg

run: build-release
	@mkdir -p data
	@echo "Rhone dashboard: http://127.0.0.1:3000   apps: http://<slug>.localhost:8080"
	LEPTOS_SITE_ROOT=target/site LEPTOS_HASH_FILES=true $(RELEASE_BIN) serve

dev: build
	@mkdir -p data
	LEPTOS_SITE_ROOT=target/site LEPTOS_HASH_FILES=false $(BIN) serve

test: build test-unit test-e2e

test-unit:
	RHONE_TEST_POSTGRES_URL=$$(bash server/tests/postgres.sh) RHONE_TEST_DOCKER_HOST=$$(bash server/tests/docker.sh | tail -n1) \
	  $(LEPTOS_BUILD_ENV) cargo test -p wire -p domain -p app -p rhone

test-e2e:
	bash end2end/run.sh $(BIN)

# benchmarks use the release build `make run` serves (the asset sizes are printed by build-release)
bench: build-release
	bash bench/deploy.sh $(CARGO_TARGET_DIR)/release/rhone
	bash bench/memory.sh $(CARGO_TARGET_DIR)/release/rhone
	bash bench/proxy.sh $(CARGO_TARGET_DIR)/release/rhone
	bash bench/https.sh $(CARGO_TARGET_DIR)/release/rhone
	bash bench/restart.sh $(CARGO_TARGET_DIR)/release/rhone
	bash bench/ssr.sh $(CARGO_TARGET_DIR)/release/rhone
	# last: exits 1 if a deploy or an upgrade dropped anything
	bash bench/zero_downtime.sh $(CARGO_TARGET_DIR)/release/rhone
	# the dashboard's download size against its budget (exits 1 when over)
	bash bench/assets.sh --strict target/site/pkg

clean:
	rm -rf target data
