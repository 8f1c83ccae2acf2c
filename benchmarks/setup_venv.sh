#!/usr/bin/env bash
# Creates (once) the benchmark's Python virtual environment outside the repository,
# in ${ITERFLOW_BENCH_CACHE:-$HOME/.cache/iterflow-bench}/venv-<hash of requirements.txt>,
# and prints its path on the last line of stdout. Reused across runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
req="$here/requirements.txt"
cache=${ITERFLOW_BENCH_CACHE:-$HOME/.cache/iterflow-bench}
hash=$(sha256sum "$req" | cut -c1-12)
venv="$cache/venv-$hash"
py=${PYTHON:-python3.11}
command -v "$py" >/dev/null 2>&1 || py=python3
if [ ! -f "$venv/.complete" ]; then
	mkdir -p "$cache"
	echo "creating the benchmark venv at $venv (torch is a large download; first run only)" >&2
	rm -rf "$venv"
	"$py" -m venv "$venv"
	"$venv/bin/pip" install -q --upgrade pip >&2
	"$venv/bin/pip" install -q -r "$req" >&2
	"$venv/bin/pip" freeze > "$venv/freeze.txt"
	touch "$venv/.complete"
fi
echo "$venv"
