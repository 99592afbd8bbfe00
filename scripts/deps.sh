#!/usr/bin/env bash
# Installs what authstore needs to build, test and run (Debian 12 packages), if missing.
set -euo pipefail
packages=(cmake ninja-build g++ pkg-config openssl libssl-dev libsqlite3-dev libhiredis-dev libasio-dev libboost-url1.81-dev
          clang clang-tidy clang-format libclang-rt-14-dev robin-map-dev libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev redis-server redis-tools python3 python3-cryptography
          pybind11-dev python3-dev python3-pytest python3-authlib python3-flask python3-requests-oauthlib
          chromium chromium-driver python3-selenium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts a redis-server service on install where it can; the tests never use it (they start
# their own on free loopback ports).
