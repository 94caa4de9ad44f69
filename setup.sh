#!/usr/bin/env bash
# Set up KDPhys on a fresh Debian/Ubuntu machine with Python 3.11: a virtual environment in .venv with the
# pinned packages. `bash setup.sh` is enough for the app; `bash setup.sh --dev` adds the test tools
# (pytest, Playwright) and Debian's Chromium for the browser tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"
dev=0
[ "${1:-}" = "--dev" ] && dev=1

apt_packages="libgl1 libglib2.0-0"
[ "$dev" = 1 ] && apt_packages="$apt_packages chromium iproute2 util-linux"
missing=""
for p in $apt_packages; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo"; else sudo="none"; fi
  if [ "$sudo" = none ]; then
    echo "setup.sh: please install these Debian packages as root:$missing" >&2
  else
    echo "setup.sh: installing system packages:$missing"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install -q -r requirements-dev.txt
else
  .venv/bin/python -m pip install -q -r requirements.txt
fi
.venv/bin/python -m pip install -q --no-deps -e .     # kdphys and webapp importable from anywhere, `kdphys` command
echo "setup.sh: ready (.venv)"
