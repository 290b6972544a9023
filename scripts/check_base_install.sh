#!/usr/bin/env bash
# A plain `pip install .` (no extras) must run the core commands, and a command that needs
# an extra must say which one. Run by .ci/run after `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${BASE_VENV:-$(mktemp -d)/base}"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q .
work="$(mktemp -d)"
cp samples/Kite.jpg samples/Path.jpg "$work/"
cp samples/Kite.jpg "$work/Kite-copy.jpg"
cd "$work"   # not the checkout: the installed package must stand alone
lookalike="$venv/bin/lookalike"
"$lookalike" --version
"$lookalike" --help >/dev/null
"$lookalike" compare Kite.jpg Path.jpg >/dev/null
"$lookalike" hash Kite.jpg
"$lookalike" dupes . --cache '' --json | "$venv/bin/python" -c \
  'import json,sys; d=json.load(sys.stdin); assert len(d["groups"]) == 1, d'
"$venv/bin/python" -c 'import time; t=time.perf_counter(); import lookalike; dt=time.perf_counter()-t; print(f"import lookalike: {dt:.3f} s"); assert dt < 0.3'
set +e
out="$("$lookalike" serve --db coll 2>&1)"; rc=$?
set -e
[ "$rc" -ne 0 ] && grep -q "lookalike\[web\]" <<<"$out" || { echo "serve without the web extra: $out"; exit 1; }
set +e
out="$("$lookalike" dupes . --cache '' --engine ray 2>&1)"; rc=$?
set -e
[ "$rc" -eq 2 ] && grep -q "lookalike\[ray\]" <<<"$out" || { echo "--engine ray without the ray extra: $out"; exit 1; }
echo "base install: ok"
