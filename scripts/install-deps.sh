#!/usr/bin/env bash
# Installs the Debian 12 packages quantfarm needs to build, test and benchmark.
# Idempotent: does nothing when everything is already installed.
# --build-only: just what building the binary needs (docker/Dockerfile's build stage).
set -euo pipefail
build_packages=(
  cmake g++ make pkg-config
  libhdf5-dev libsqlite3-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
  libxxhash-dev librandom123-dev libopenmpi-dev openmpi-bin
  libboost-dev libboost-mpi-dev libboost-serialization-dev libeigen3-dev libssl-dev
)
packages=(
  "${build_packages[@]}"
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-numba python3-numpy python3-h5py python3-deap python3-fastapi python3-uvicorn python3-optuna
  hyperfine
  slurm-wlm munge prometheus
  libboost-dev libboost-mpi-dev libboost-serialization-dev libeigen3-dev curl wrk
  libssl-dev python3-websockets libsimgrid-dev
  docker.io docker-compose debootstrap chromium
)
# The dashboard's browser test drives chromium with playwright-core from npm: Debian's
# nodejs and npm unless a Node.js with npm is installed already.
command -v npm > /dev/null || packages+=(nodejs npm)
if [ "${1:-}" = "--build-only" ]; then
  packages=("${build_packages[@]}")
elif [ -n "${1:-}" ]; then
  echo "install-deps: unknown option '$1' (allowed: --build-only)" >&2
  exit 2
fi
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
# Tests start their own prometheus (own port and data dir): the packaged service must
# not run, where the package's scripts started it.
if [[ " ${missing[*]} " == *" prometheus "* ]]; then
  if [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/prometheus ]; then
    $sudo /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    $sudo update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
fi
echo "install-deps: done"
