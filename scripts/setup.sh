#!/usr/bin/env bash
# Set up inr-amr on Debian 12 (as root, or with sudo available): ParaView and build tools from Debian,
# then a virtual environment at .venv that sees Debian's ParaView, numpy, scipy and matplotlib and
# adds torch (the CPU wheel) and this project. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(
  paraview python3-paraview paraview-dev xvfb                 # ParaView 5.11, pvpython/pvbatch, headless X
  python3-venv python3-pip python3-numpy python3-scipy python3-matplotlib
  cmake make g++ libopenmpi-dev openmpi-bin                   # the compiled plugin and MPI runs
  libdouble-conversion-dev liblz4-dev libutfcpp-dev           # needed by ParaView's CMake config
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --system-site-packages: the venv sees Debian's paraview, vtk, numpy 1.24, scipy, matplotlib
if [ ! -x .venv/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
# torch==2.13.0 is the CPU build (an unpinned torch pulls a multi-GB CUDA build); the test and lint tools
# are pinned so that CI checks the same rules everywhere
.venv/bin/python -m pip install -q "torch==2.13.0" "pytest>=7" "ruff==0.17.6" "mypy==2.4.1" "setuptools>=64"
.venv/bin/python -m pip install -q --no-deps -e .
.venv/bin/inr-amr --version
# Pruning's pivoting kernel (C, about 0.3 s), built now rather than at the first refinement
.venv/bin/python -c "from inr_amr_core import native; import sys; sys.exit(0 if native.available() else 'setup: the C pivoting kernel did not build')"
echo "setup: done (.venv/bin/inr-amr is ready)"
