#!/usr/bin/env bash
# The static package, checked end to end (docs/packaging.md, "Static library"): configures a build
# of libauthstore.a (BUILD_SHARED_LIBS=OFF, every backend, the `authstore` command linked with it;
# no tests, benchmarks or bindings), builds it, installs it into a temporary prefix, and runs the
# shared library's install test against that prefix (tests/install/run_install_test.cmake): a
# consumer built with find_package(authstore), and one built with
# `pkg-config --static --cflags --libs authstore`, each run; the installed CLI runs; no installed
# binary has an RPATH.
#
# On demand, not in CI (scripts/test.sh): it compiles the library and the CLI a second time, about
# 5 CPU-minutes without a compiler cache (measured here), 20-30 s with a warm ccache (the objects
# are a normal build's, compiled alike). Prints "static package: OK" at the end; exits non-zero at
# the first failure.
#
# usage: scripts/static-package.sh [BUILD_DIR]
#   BUILD_DIR  the scratch build directory, relative to the repository root or absolute (default:
#              build-static); its install-test/ is replaced
#   JOBS       compile jobs (default 2); the build runs under nice -n 19
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
dir=${1:-build-static}
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
jobs=${JOBS:-2}
optflags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
          "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")

# ccache when there is one and no launcher is chosen: the objects are a normal build's.
launcher=()
if [ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ] && command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi

echo "== configure $dir (BUILD_SHARED_LIBS=OFF)"
cmake -S . -B "$dir" -G Ninja -DAUTHSTORE_WERROR=ON -DBUILD_SHARED_LIBS=OFF -DAUTHSTORE_BUILD_TESTS=OFF \
  -DAUTHSTORE_BUILD_BENCH=OFF -DAUTHSTORE_PYTHON=OFF -DAUTHSTORE_BUILD_NODE=OFF "${optflags[@]}" \
  "${launcher[@]}" >/dev/null
cache() { sed -n "s/^$1:[A-Z]*=//p" "$dir/CMakeCache.txt"; }

echo "== build $dir"
nice -n 19 cmake --build "$dir" -j "$jobs"
lib="$dir/libauthstore.a"
[ -f "$lib" ] || { echo "FAIL: $lib was not built (is BUILD_SHARED_LIBS honoured?)"; exit 1; }

echo "== install and consume $dir"
cmake -DBUILD_DIR="$dir" -DWORK_DIR="$dir/install-test" -DCONSUMER_DIR="$src/tests/install/consumer" \
  -DLIBDIR="$(cache CMAKE_INSTALL_LIBDIR)" -DGENERATOR=Ninja -DMAKE_PROGRAM="$(cache CMAKE_MAKE_PROGRAM)" \
  -DCXX_COMPILER="$(cache CMAKE_CXX_COMPILER)" -DBUILD_TYPE=RelWithDebInfo -DEXTRA_FLAGS= -DEXTRA_LDFLAGS= \
  -DPKG_CONFIG_STATIC=ON -DSOVERSION= -DEXPECT_RPATH=OFF -P "$src/tests/install/run_install_test.cmake"
echo "static package: OK"
