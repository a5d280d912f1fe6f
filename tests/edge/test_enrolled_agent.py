"""A gateway enrolled once with `pitline edge enroll` signs in with its own Ed25519 key (short-lived tokens it
renews itself: nothing to expire while nobody looks at it for months), and its derived records and telemetry
reach a real hub under the device id the hub assigned. A second enroll refuses to replace the key."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from edge.agent import EdgeAgent
from edge.cli import app as edge_cli
from edge.cli import load_config
from edge.simulator import publish
from hub.cli import app as hub_cli
from shared.ids import new_ulid
from shared.store import LocalStore
from tests.edge.test_agent import KEY
from tests.fixtures.hubserver import HubProcess
from tests.fixtures.mosquitto import Broker
from tests.hub.test_push import db_fetch
from tests.waiting import wait_until


def hub_admin(dsn: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("PITLINE_DATABASE_URL", dsn)
    result = CliRunner().invoke(hub_cli, [*args, "--json"])
    assert result.exit_code == 0, (args, result.output)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


def test_an_enrolled_gateway_syncs_with_its_own_key(mqtt_broker: Broker, live_hub: HubProcess, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = f"t-edge-en-{new_ulid()[-6:].lower()}"
    hub_admin(live_hub.dsn, monkeypatch, "tenants", "add", tenant)
    hub_admin(live_hub.dsn, monkeypatch, "sites", "add", "north", "-t", tenant)
    token = hub_admin(live_hub.dsn, monkeypatch, "enroll", "issue", "-t", tenant, "--site", "north",
                      "--kind", "edge", "--hours", "1")["token"]
    config_file = tmp_path / "edge.toml"
    config_file.write_text(f"""[edge]
tenant_id = "typed-before-enrolling"
site_id = "north"
device_id = "gw-typed"
store_path = "{tmp_path / 'gw.db'}"
passphrase = "edge test"
broker_host = "{mqtt_broker.host}"
broker_port = {mqtt_broker.port}
hub_url = "{live_hub.url}"
derive_seconds = 0.5
""")
    runner = CliRunner()
    done = runner.invoke(edge_cli, ["enroll", "--config", str(config_file), "--token", token, "--name", "pit-gw"])
    assert done.exit_code == 0, done.output
    again = runner.invoke(edge_cli, ["enroll", "--config", str(config_file), "--token", token])
    assert again.exit_code == 2 and "already enrolled" in again.output  # the key is never replaced by accident

    config = load_config(config_file)
    assert not config.token
    agent = EdgeAgent(config)
    assert config.tenant_id == tenant and config.device_id != "gw-typed"  # the hub's ids, not the typed ones
    agent._open = lambda: LocalStore.open(config.store_path, KEY)  # a cheaper KDF for the test
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: agent.ingest.stats.connected, 30)
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=14)
        publish(mqtt_broker.host, mqtt_broker.port, "north", machines=2, minutes=13 * 60, seed=9, start=start)

        def at_hub(sql: str) -> int:
            return len(db_fetch(live_hub.dsn, sql, tenant, config.device_id))

        assert wait_until(lambda: at_hub("SELECT 1 FROM sync.applied_mutations WHERE tenant_id = $1 "
                                         "AND device_id = $2") >= 2, 60)
        assert wait_until(lambda: at_hub("SELECT 1 FROM telemetry.batches WHERE tenant_id = $1 "
                                         "AND device_id = $2") >= 1, 60)
    finally:
        stop.set()
        thread.join(20)
    tokens = db_fetch(live_hub.dsn, "SELECT count(*) AS n FROM auth.access_tokens WHERE tenant_id = $1 "
                                    "AND device_id = $2", tenant, config.device_id)
    assert tokens[0]["n"] >= 1  # signed in by challenge, not with a provisioned token
