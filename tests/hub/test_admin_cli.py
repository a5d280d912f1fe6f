"""The admin CLI (`pitline hub tenants|sites|users|enroll|devices|conflicts`) against the real test database:
happy paths with --json, and the exit codes of bad input (2), not found (4), already exists (5)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from hub.cli import app
from pitline.harness import ROOT
from shared.device_auth import DeviceKey, enroll
from tests.fixtures.hubserver import HubProcess
from tests.hub.test_push import db_fetch, make_device

PITLINE = str(Path(sys.executable).parent / "pitline")  # the installed console script


@pytest.fixture
def cli(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("PITLINE_DATABASE_URL", pg_dsn)
    return CliRunner()


def run(cli: CliRunner, *args: str, code: int = 0, stdin: str | None = None) -> Any:
    """Invoke `pitline hub <args> --json`; check the exit code; return the parsed JSON."""
    result = cli.invoke(app, [*args, "--json"], input=stdin)
    assert result.exit_code == code, (args, result.exit_code, result.output)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


def test_tenants_sites_users_and_roles(cli: CliRunner, pg_dsn: str) -> None:
    assert run(cli, "tenants", "add", "t-cli", "--name", "Cli Mining")["name"] == "Cli Mining"
    assert "t-cli" in [t["id"] for t in run(cli, "tenants", "list")]
    site = run(cli, "sites", "add", "pit3", "-t", "t-cli", "--tz", "Australia/Perth", "--day-shift", "05:30",
               "--night-shift", "17:30")
    assert site == {"id": "pit3", "name": "pit3", "time_zone": "Australia/Perth", "day_shift_start": "05:30:00",
                    "night_shift_start": "17:30:00"}
    run(cli, "sites", "add", "pit4", "-t", "t-cli")
    assert [s["id"] for s in run(cli, "sites", "list", "-t", "t-cli")] == ["pit3", "pit4"]

    added = run(cli, "users", "add", "ann", "-t", "t-cli", "--name", "Ann Lee", "--password", "s3cret-pass",
                "--role", "supervisor", "--role", "viewer", "--site", "pit3")
    assert added["grants"] == ["supervisor@pit3", "viewer@pit3"]
    run(cli, "users", "add", "bob", "-t", "t-cli", stdin="from-stdin-pw\n")  # password on stdin
    assert run(cli, "users", "grant", "bob", "storeman", "-t", "t-cli")["grants"] == ["storeman@*"]
    assert run(cli, "users", "revoke-role", "ann", "viewer", "-t", "t-cli", "--site", "pit3")["grants"] == [
        "supervisor@pit3"]
    run(cli, "users", "disable", "bob", "-t", "t-cli")
    listed = {u["username"]: u for u in run(cli, "users", "list", "-t", "t-cli")}
    assert listed["bob"]["disabled"] is True and listed["ann"]["display_name"] == "Ann Lee"
    assert listed["ann"]["grants"] == ["supervisor@pit3"]
    run(cli, "users", "disable", "bob", "-t", "t-cli", "--enable")
    assert run(cli, "users", "reset-password", "ann", "-t", "t-cli", "--password", "another-pass")["password"] == \
        "changed"
    [hashes] = db_fetch(pg_dsn, "SELECT password_hash FROM auth.users WHERE tenant_id = 't-cli' AND username = 'ann'")
    assert hashes["password_hash"].startswith("$argon2id$")

    audit = db_fetch(pg_dsn, "SELECT actor, action, before, after FROM audit.log WHERE tenant_id = 't-cli' "
                             "ORDER BY id")
    actions = [a["action"] for a in audit]
    assert actions[:3] == ["tenant.add", "site.add", "site.add"]
    assert {"user.add", "role.grant", "role.revoke", "user.disable", "user.enable", "user.reset_password"} <= \
        set(actions)
    revoke = next(a for a in audit if a["action"] == "role.revoke")
    assert revoke["before"] == {"grants": ["supervisor@pit3", "viewer@pit3"]}
    assert revoke["after"] == {"grants": ["supervisor@pit3"]} and revoke["actor"].startswith("cli:")
    assert "s3cret" not in json.dumps([dict(a) for a in audit], default=str)


def test_enroll_devices_and_conflicts(cli: CliRunner, live_hub: HubProcess, tmp_path: Path) -> None:
    run(cli, "tenants", "add", "t-cli-dev")
    run(cli, "sites", "add", "s1", "-t", "t-cli-dev")
    issued = run(cli, "enroll", "issue", "-t", "t-cli-dev", "--site", "s1", "--kind", "edge", "--hours", "2",
                 "--actor", "hq-alice")
    assert issued["token"].startswith("pe_") and issued["kind"] == "edge" and issued["site_id"] == "s1"
    plain = cli.invoke(app, ["enroll", "issue", "-t", "t-cli-dev", "--kind", "desktop"])
    assert plain.exit_code == 0 and plain.stdout.strip().startswith("pe_")  # just the token, for scripts
    device = enroll(live_hub.url, issued["token"], "gateway 1", "edge", DeviceKey.load_or_create(tmp_path))
    listed = run(cli, "devices", "list", "-t", "t-cli-dev")
    assert [(d["id"], d["kind"], d["site_ids"], d["revoked_at"]) for d in listed] == [
        (device.device_id, "edge", ["s1"], None)]
    revoked = run(cli, "devices", "revoke", device.device_id, "-t", "t-cli-dev")
    assert revoked["revoked_at"] is not None
    run(cli, "devices", "revoke", device.device_id, "-t", "t-cli-dev", code=5)

    # A manual conflict from two devices, resolved from the CLI.
    a, b = make_device(live_hub, "t-cli-dev", "s1", "cli-a"), make_device(live_hub, "t-cli-dev", "s1", "cli-b")
    a.push_ok([a.mutation("forms.submission", "F1", "create", {"form": "pre-start", "title": "DT01"})])
    b.push_ok([b.mutation("forms.submission", "F1", "update", {"title": "DT01 (b)"}, 1)])
    [o] = a.push_ok([a.mutation("forms.submission", "F1", "update", {"title": "DT01 (a)"}, 1)])
    assert o["status"] == "conflict"
    [c] = run(cli, "conflicts", "list", "-t", "t-cli-dev")
    assert c["id"] == o["conflict_id"] and c["entity_id"] == "F1"
    done = run(cli, "conflicts", "resolve", c["id"], "-t", "t-cli-dev", "--choice", "custom", "--data",
               '{"title": "DT01 (agreed)"}', "--note", "phoned both")
    assert done["status"] == "resolved"
    assert run(cli, "conflicts", "list", "-t", "t-cli-dev") == []
    assert [e for e in a.all_events() if e["entity_id"] == "F1"][-1]["payload"]["title"] == "DT01 (agreed)"
    run(cli, "conflicts", "resolve", c["id"], "-t", "t-cli-dev", "--choice", "server", code=5)
    r = httpx.get(f"{live_hub.url}/v1/sync/changes", headers={"Authorization": f"Bearer {a.token}"})
    assert r.status_code == 200


@pytest.mark.parametrize(("args", "code", "says"), [
    (["tenants", "add", "t-cli-err"], 5, "already exists"),
    (["tenants", "add", "bad tenant!"], 2, "not valid"),
    (["sites", "add", "s9", "-t", "t-cli-err", "--tz", "Mars/Olympus"], 2, "unknown time zone"),
    (["sites", "add", "s9", "-t", "t-cli-err", "--day-shift", "25:00"], 2, "time of day"),
    (["sites", "add", "s1", "-t", "t-cli-err"], 5, "already exists"),
    (["sites", "list", "-t", "no-such-tenant"], 4, "no tenant"),
    (["users", "add", "zed", "-t", "t-cli-err", "--password", "short"], 2, "at least 8"),
    (["users", "add", "zed", "-t", "t-cli-err", "--password", "long-enough", "--role", "king"], 2, "unknown role"),
    (["users", "grant", "cat", "emperor", "-t", "t-cli-err"], 2, "unknown role"),
    (["users", "grant", "cat", "viewer", "-t", "t-cli-err", "--site", "nowhere"], 4, "no site"),
    (["users", "grant", "cat", "viewer", "-t", "t-cli-err"], 5, "already holds"),
    (["users", "revoke-role", "cat", "operator", "-t", "t-cli-err"], 4, "does not hold"),
    (["users", "disable", "nobody", "-t", "t-cli-err"], 4, "no user"),
    (["users", "reset-password", "nobody", "-t", "t-cli-err", "--password", "long-enough"], 4, "no user"),
    (["enroll", "issue", "-t", "t-cli-err", "--kind", "phone"], 2, "desktop or edge"),
    (["enroll", "issue", "-t", "t-cli-err", "--kind", "edge", "--hours", "0"], 2, "--hours"),
    (["enroll", "issue", "-t", "t-cli-err", "--kind", "edge", "--site", "nowhere"], 4, "no site"),
    (["enroll", "issue", "-t", "no-such-tenant", "--kind", "edge"], 4, "no tenant"),
    (["devices", "revoke", "no-such-device", "-t", "t-cli-err"], 4, "no device"),
    (["conflicts", "resolve", "NOPE", "-t", "t-cli-err", "--choice", "server"], 4, "no conflict"),
    (["conflicts", "resolve", "NOPE", "-t", "t-cli-err", "--choice", "maybe"], 2, "--choice"),
    (["conflicts", "resolve", "NOPE", "-t", "t-cli-err", "--choice", "custom", "--data", "{oops"], 2, "not JSON"),
    (["conflicts", "list", "-t", "t-cli-err", "--status", "weird"], 2, "--status"),
])
def test_errors_have_messages_and_exit_codes(cli: CliRunner, args: list[str], code: int, says: str) -> None:
    result = cli.invoke(app, ["tenants", "add", "t-cli-err"])
    if result.exit_code == 0:
        cli.invoke(app, ["sites", "add", "s1", "-t", "t-cli-err"])
        cli.invoke(app, ["users", "add", "cat", "-t", "t-cli-err", "--password", "long-enough", "--role", "viewer"])
    result = cli.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    assert says in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"error": result.stderr.strip().removeprefix(
        "pitline hub: "), "exit_code": code}


def test_the_installed_command_and_an_unreachable_database(pg_dsn: str, tmp_path: Path) -> None:
    env = {**os.environ, "PITLINE_DATABASE_URL": pg_dsn}
    out = subprocess.run([PITLINE, "hub", "tenants", "list", "--json"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert isinstance(json.loads(out.stdout), list)
    env["PITLINE_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/nothing"
    out = subprocess.run([PITLINE, "hub", "tenants", "list"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "cannot use the hub's database" in out.stderr
