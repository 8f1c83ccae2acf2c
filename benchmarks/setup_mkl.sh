#!/usr/bin/env bash
# Fetches (once) Intel oneMKL's shared libraries for the `mkl` build of iterflow
# (`make build-mkl`, and the benchmark's default BLAS), from PyPI's `mkl` wheel,
# into ${ITERFLOW_BENCH_CACHE:-$HOME/.cache/iterflow-bench}/mkl-<version>/lib,
# and prints that directory on the last line of stdout. Reused across runs.
#
# Only the LP64 interface, GNU OpenMP threading and core libraries are kept
# (iterflow links -lmkl_intel_lp64 -lmkl_gnu_thread -lmkl_core -lgomp; gcc's
# libgomp is the OpenMP runtime). The wheel is ~220 MB; the kept files ~290 MB.
# MKL is under the Intel Simplified Software License (see the wheel's
# LICENSE.txt, copied next to the libraries).
set -euo pipefail
version=${MKL_VERSION:-2026.2.0}
cache=${ITERFLOW_BENCH_CACHE:-$HOME/.cache/iterflow-bench}
dir="$cache/mkl-$version"
py=${PYTHON:-python3.11}
command -v "$py" >/dev/null 2>&1 || py=python3
if [ ! -f "$dir/.complete" ]; then
	echo "fetching oneMKL $version from PyPI into $dir (first run only)" >&2
	rm -rf "$dir"
	mkdir -p "$dir/whl" "$dir/lib"
	"$py" -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
		-d "$dir/whl" "mkl==$version" >&2
	"$py" -m zipfile -e "$dir"/whl/mkl-*.whl "$dir/x" >&2
	for f in libmkl_intel_lp64 libmkl_gnu_thread libmkl_core libmkl_def libmkl_avx2 libmkl_avx512 libmkl_sequential; do
		src=$(ls "$dir"/x/mkl-*.data/data/lib/$f.so.* 2>/dev/null | head -n 1 || true)
		[ -n "$src" ] || continue
		cp "$src" "$dir/lib/"
		ln -sf "$(basename "$src")" "$dir/lib/$f.so"
	done
	cp "$dir"/x/mkl-*.dist-info/LICENSE.txt "$dir/lib/" 2>/dev/null || true
	rm -rf "$dir/x" "$dir/whl"
	for f in libmkl_intel_lp64 libmkl_gnu_thread libmkl_core; do
		[ -e "$dir/lib/$f.so" ] || { echo "setup_mkl: $f.so missing from the mkl $version wheel" >&2; exit 1; }
	done
	touch "$dir/.complete"
fi
echo "$dir/lib"
