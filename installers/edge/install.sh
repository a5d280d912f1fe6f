#!/usr/bin/env bash
# Install the Pitline edge agent on a Debian/Ubuntu gateway (run as root from a checkout of Pitline).
# Idempotent: re-running upgrades the code and keeps the configuration, key and data.
set -euo pipefail
[ "$(id -u)" = "0" ] || { echo "run as root" >&2; exit 1; }
src="$(cd "$(dirname "$0")/../.." && pwd)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends mosquitto python3-venv >/dev/null
install -m 0644 "$src/installers/edge/mosquitto-pitline.conf" /etc/mosquitto/conf.d/pitline.conf
# Debian's default mosquitto.conf already sets persistence and its location: keep ours to the rest.
sed -i '/^persistence /d; /^persistence_location /d' /etc/mosquitto/conf.d/pitline.conf
id pitline >/dev/null 2>&1 || useradd --system --home /var/lib/pitline --shell /usr/sbin/nologin pitline
install -d -o pitline -g pitline -m 0750 /var/lib/pitline
install -d -m 0755 /etc/pitline /opt/pitline
rsync -a --delete --exclude .venv --exclude .git "$src/" /opt/pitline/src/ 2>/dev/null || cp -a "$src/." /opt/pitline/src/
python3 -m venv /opt/pitline/.venv
/opt/pitline/.venv/bin/pip install -q --upgrade pip
/opt/pitline/.venv/bin/pip install -q /opt/pitline/src
[ -f /etc/pitline/store.kek ] || (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > /etc/pitline/store.kek)
chmod 0600 /etc/pitline/store.kek
[ -f /etc/pitline/edge.toml ] || install -m 0640 -g pitline "$src/installers/edge/edge.toml.example" /etc/pitline/edge.toml
install -m 0644 "$src/installers/edge/pitline-edge.service" /etc/systemd/system/pitline-edge.service
systemctl daemon-reload
systemctl restart mosquitto
systemctl enable --now pitline-edge
echo "installed; edit /etc/pitline/edge.toml (site, hub_url, store), enroll once with"
echo "  pitline edge enroll --config /etc/pitline/edge.toml --token <one-time token from the HQ administrator>"
echo "then: systemctl restart pitline-edge"
echo "status: /opt/pitline/.venv/bin/pitline edge status --config /etc/pitline/edge.toml"
