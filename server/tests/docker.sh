#!/usr/bin/env bash
# Makes sure a Docker engine answers for the tests and prints its address (last line of stdout).
# Installs Debian's docker.io if dockerd is missing and starts dockerd for the tests with
# `--bridge=none --iptables=false` (test containers use host networking on 127.0.0.1), then builds
# the local base images `rhone-test/busybox:1` (FROM scratch + Debian's static busybox, `sh`, `httpd`,
# CA certificates) and `rhone-test/python:3` (that image + Debian's /usr/bin/python3.11, its standard
# library and the shared libraries `ldd` lists for it and its extension modules) because no image can
# be pulled here. Idempotent: reuses a running engine and existing images.
set -euo pipefail
APT="env DEBIAN_FRONTEND=noninteractive apt-get"
IMAGE=rhone-test/busybox:1
PY_IMAGE=rhone-test/python:3
LOG=/tmp/rhone-dockerd.log
PIDFILE=/tmp/rhone-dockerd.pid
HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}
export DOCKER_HOST=$HOST

answers() { timeout 10 docker info >/dev/null 2>&1; }

if ! answers; then
  if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    $APT update -q >&2 && $APT install -y -q docker.io >&2
  fi
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "dockerd (pid $(cat "$PIDFILE")) is starting; waiting" >&2
  else
    # Detached (own session, no inherited stdout) so `$(bash docker.sh)` returns while it runs.
    setsid dockerd --bridge=none --iptables=false --ip6tables=false --host="$HOST" \
      </dev/null >"$LOG" 2>&1 &
    echo $! >"$PIDFILE"
  fi
  for _ in $(seq 150); do
    answers && break
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      echo "dockerd exited; its log ($LOG):" >&2; tail -n 30 "$LOG" >&2; exit 1
    fi
    sleep 0.2
  done
  answers || { echo "dockerd did not answer at $HOST; log: $LOG" >&2; tail -n 30 "$LOG" >&2; exit 1; }
fi

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  bb=/bin/busybox
  if ! [ -x "$bb" ] || ! file -L "$bb" 2>/dev/null | grep -q 'statically linked'; then
    if ! dpkg -s busybox-static >/dev/null 2>&1; then
      $APT update -q >&2 && $APT install -y -q busybox-static >&2
    fi
    bb=/bin/busybox
  fi
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/etc" "$ctx/rootfs/tmp" "$ctx/rootfs/app"
  cp "$bb" "$ctx/rootfs/bin/busybox"
  # applet symlinks made here, so the build needs no RUN (no container, no network)
  for applet in $("$bb" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$ctx/rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$ctx/rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$ctx/rootfs/etc/group"
  chmod 1777 "$ctx/rootfs/tmp"
  # CA certificates where Debian-based toolchain images have them (generated Dockerfiles copy them)
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$ctx/rootfs/etc/ssl/certs"
    cp /etc/ssl/certs/ca-certificates.crt "$ctx/rootfs/etc/ssl/certs/"
  fi
  cat >"$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
CMD ["/bin/sh"]
EOF
  DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" --label rhone.test=1 "$ctx" >&2
fi

if ! docker image inspect "$PY_IMAGE" >/dev/null 2>&1; then
  py=/usr/bin/python3.11
  if ! [ -x "$py" ] || ! [ -f /usr/lib/python3.11/asyncio/__init__.py ]; then
    $APT update -q >&2 && $APT install -y -q python3.11 >&2
  fi
  pyctx=$(mktemp -d)
  trap 'rm -rf "${ctx:-}" "$pyctx"' EXIT
  root=$pyctx/rootfs
  mkdir -p "$root/usr/bin" "$root/usr/lib"
  cp "$py" "$root/usr/bin/python3.11"
  ln -s python3.11 "$root/usr/bin/python3"
  ln -s python3.11 "$root/usr/bin/python"
  # the standard library, without the static libpython and the C API test modules
  tar -C /usr/lib -cf - --exclude='python3.11/config-*' --exclude='python3.11/lib-dynload/_test*' \
    --exclude='python3.11/lib-dynload/_xx*' --exclude='python3.11/test' python3.11 | tar -C "$root/usr/lib" -xf -
  # the shared libraries (and the loader) at the paths ldd names, for the binary and its extension modules
  for so in $( { ldd "$py"; for m in "$root"/usr/lib/python3.11/lib-dynload/*.so; do ldd "$m"; done; } \
      | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u); do
    mkdir -p "$root$(dirname "$so")"
    cp -L "$so" "$root$so"
  done
  printf 'FROM %s\nCOPY rootfs/ /\nENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1\nCMD ["python3"]\n' "$IMAGE" >"$pyctx/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t "$PY_IMAGE" --label rhone.test=1 "$pyctx" >&2
fi
echo "$HOST"
