#!/usr/bin/env bash
# Create the separate virtual environment for the open-rppg peer benchmark (never a dependency of the app).
#
#   bash benchmarks/setup_open_rppg.sh            # -> benchmarks/.venv-openrppg (git-ignored)
#
# open-rppg 0.1.1 (PyPI) runs its models with keras 3 on the jax backend and imports pkg_resources,
# which setuptools >= 81 no longer ships, so setuptools is pinned below 81. CPU-only jax.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${OPEN_RPPG_VENV:-$HERE/.venv-openrppg}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "setuptools<81" "open-rppg==0.1.1" "jax[cpu]" psutil
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
for name in ("open-rppg", "jax", "keras", "onnxruntime", "numpy"):
    print(f"{name} {md.version(name)}")
PY
echo "open-rppg venv ready: $VENV"
