#!/usr/bin/env bash
# Set up everything Pitline needs on a fresh Debian/Ubuntu machine with Python 3.11+:
# a virtualenv in .venv with the project installed, and (as root) Mosquitto from Debian's packages.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "Pitline needs Python 3.11 or newer (found: $("$PY" --version 2>&1))" >&2
  exit 1
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
  # The hub's test behind PgBouncer in transaction mode starts its own (skipped where there is none).
  command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
  "$PY" -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
  # Qt's offscreen platform still loads these libraries.
  ldconfig -p | grep -q libEGL.so.1 || need+=(libegl1)
  ldconfig -p | grep -q libxkbcommon.so.0 || need+=(libxkbcommon0)
  ldconfig -p | grep -q libfontconfig.so.1 || need+=(libfontconfig1)
  ldconfig -p | grep -q libGL.so.1 || need+=(libgl1)
  ldconfig -p | grep -q libdbus-1.so.3 || need+=(libdbus-1-3)
  ldconfig -p | grep -q libxcb-cursor.so.0 || need+=(libxcb-cursor0)  # Qt >= 6.5's xcb plugin (a real screen)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing Debian packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  # The Debian package starts a system broker; Pitline's tests and demo start their own.
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.pitline-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[dev]'
  touch "$stamp"
fi
echo "setup done: $(.venv/bin/python --version), project installed in .venv"
