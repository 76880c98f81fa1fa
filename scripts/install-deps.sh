#!/usr/bin/env bash
# Installs the Debian 12 packages quantfarm needs to build, test and benchmark.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail
packages=(
  cmake g++ make pkg-config
  libhdf5-dev libsqlite3-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
  libxxhash-dev librandom123-dev libopenmpi-dev openmpi-bin
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-numba python3-numpy python3-h5py python3-deap hyperfine
  slurm-wlm munge
  libboost-dev curl wrk
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >/dev/null
echo "install-deps: done"
