#!/usr/bin/env bash
# The dashboard's built assets as the browser downloads them. The wasm is split (`cargo leptos build
# --split`): a main module every page needs, and per page a module plus the chunks it shares with
# other pages (`__wasm_split_manifest*.json`). Printed: the main files (raw, gzip -9, and the .gz/.br
# copies the server sends), the chunks in total, and per page what it downloads on top of the main
# module. The budget: the main module gzipped ≤ WASM_GZIP_LIMIT bytes (default 300 KiB). With
# --strict it exits 1 when over (`make bench`); `make build-release` only reports.
# Usage: bench/assets.sh [--strict] target/site/pkg
set -euo pipefail
strict=false
if [ "${1:-}" = "--strict" ]; then strict=true; shift; fi
pkg=${1:-target/site/pkg}
limit=${WASM_GZIP_LIMIT:-307200}
python3 - "$pkg" "$limit" "$strict" <<'PY'
import glob, gzip, json, os, sys

pkg, limit, strict = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "true"

def gz(path):
    with open(path, "rb") as f:
        return len(gzip.compress(f.read(), 9))

def size(path):
    return os.path.getsize(path) if os.path.exists(path) else None

def base(path):
    return os.path.basename(path)

main_wasm = [f for f in glob.glob(f"{pkg}/rhone*.wasm") if not base(f).startswith("rhone_bg")]
if len(main_wasm) != 1:
    sys.exit(f"expected one main wasm (rhone*.wasm) in {pkg}, found {main_wasm}")
main_wasm = main_wasm[0]
mains = [main_wasm] + sorted(glob.glob(f"{pkg}/rhone*.js") + glob.glob(f"{pkg}/rhone*.css") + glob.glob(f"{pkg}/__wasm_split*.js"))
print(f"{'file':<48} {'raw':>10} {'gzip-9':>10} {'.gz':>10} {'.br':>10}")
for f in mains:
    pre = [size(f + ext) for ext in (".gz", ".br")]
    print(f"{base(f):<48} {size(f):>10} {gz(f):>10} {pre[0] or '-':>10} {pre[1] or '-':>10}")

pieces = sorted(glob.glob(f"{pkg}/chunk_*.wasm") + glob.glob(f"{pkg}/split_*.wasm"))
gz_of = {base(f): gz(f) for f in pieces}
print(f"{'split modules and chunks (' + str(len(pieces)) + ' files)':<48} {sum(size(f) for f in pieces):>10} {sum(gz_of.values()):>10}")

manifests = glob.glob(f"{pkg}/__wasm_split_manifest*.json")
if manifests:
    with open(manifests[0]) as f:
        manifest = json.load(f)
    print("\nper page, on top of the main module (gzip -9, each file compressed on its own):")
    rows = []
    for split, chunks in manifest.items():
        own = [n for n in gz_of if n.startswith(f"split_{split}.") or n == f"split_{split}.wasm"]
        files = set(own) | {c if c.endswith(".wasm") else c + ".wasm" for c in chunks}
        rows.append((sum(gz_of.get(n, 0) for n in files), split, len(files)))
    for total, split, n in sorted(rows, reverse=True):
        name = split.strip("_").rsplit("_", 1)[0]
        print(f"  {name:<46} {total:>10} B in {n} files")

main_gz = gz(main_wasm)
if main_gz > limit:
    print(f"wasm budget: OVER: the main module is {main_gz} bytes gzipped, the budget is {limit}", file=sys.stderr)
    sys.exit(1 if strict else 0)
print(f"wasm budget: ok: the main module is {main_gz} bytes gzipped, the budget is {limit}")
PY
