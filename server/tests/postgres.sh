#!/usr/bin/env bash
# Makes sure a local PostgreSQL server runs for the tests and prints its URL (no database part).
# Installs Debian's postgresql if missing. Idempotent.
set -euo pipefail
APT="env DEBIAN_FRONTEND=noninteractive apt-get"
if ! command -v pg_lsclusters >/dev/null; then
  $APT update -q >&2 && $APT install -y -q postgresql >&2
fi
cluster=$(pg_lsclusters -h | head -n1)
if [ -z "$cluster" ]; then
  ver=$(ls /usr/lib/postgresql | sort -n | tail -n1)
  pg_createcluster "$ver" main >&2
  cluster=$(pg_lsclusters -h | head -n1)
fi
read -r ver name port status _ <<<"$cluster"
if [ "$status" != "online" ]; then
  pg_ctlcluster "$ver" "$name" start >&2
fi
for _ in $(seq 50); do
  su postgres -c "psql -p $port -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.2
done
su postgres -c "psql -p $port -qc \"ALTER USER postgres PASSWORD 'rhone-test'\"" >/dev/null
echo "postgres://postgres:rhone-test@127.0.0.1:$port"
