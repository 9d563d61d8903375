#!/usr/bin/env bash
# Install photoshare into ./.venv (libvips and libheif come inside the pyvips[binary] and pillow-heif
# wheels, so no system packages are needed), initialise a data folder and start the appliance.
#
#   ./install.sh                 install, initialise ./photoshare-data, then serve on 127.0.0.1:8080
#   ./install.sh --no-start      install only
#   ./install.sh --test          install with test dependencies (used by the README's test command)
#
# Environment: PHOTOSHARE_DATA_DIR (default ./photoshare-data), PHOTOSHARE_SERVER_HOST, PHOTOSHARE_SERVER_PORT,
# PYTHON (interpreter to build the venv with, default python3; 3.11 or newer).
set -euo pipefail
cd "$(dirname "$0")"

start=1
extras=""
for arg in "$@"; do
  case "$arg" in
    --no-start) start=0 ;;
    --test) start=0; extras="[test]" ;;
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
.venv/bin/python -m pip install --quiet -e ".${extras}"

if [ "$start" = 1 ]; then
  export PHOTOSHARE_DATA_DIR="${PHOTOSHARE_DATA_DIR:-$PWD/photoshare-data}"
  .venv/bin/photoshare init
  exec .venv/bin/photoshare serve
fi
