#!/usr/bin/env bash
# Set up and run Pitline's main job: a hub on its embedded PostgreSQL, a private MQTT broker, a
# simulated fleet publishing telemetry, an edge agent, and the desktop app's headless check.
# Extra arguments go to `pitline demo` (--days N of offline work, default 7; --keep keeps its folder).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen}
exec .venv/bin/pitline demo "$@"
