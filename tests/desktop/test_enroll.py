"""A fresh site-office PC enrolled through the real first-run dialog against a real hub process: an
administrator issues the token and adds people with the admin CLI; the hub's verifiers arrive; with the hub
gone a person signs in offline and logs hours and a breakdown; back online the PC syncs with its device key
(challenge → signature → token) and the rows come back confirmed; a disabled user drops out of the cache; a
revoked PC says so instead of crashing."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from typer.testing import CliRunner

from desktop.app import build
from desktop.enrollment import REVOKED_KEY, device_folder, device_token_provider, enrolled_sites, is_enrolled
from desktop.first_run import FirstRunDialog, is_set_up
from desktop.main_window import REVOKED_TEXT
from desktop.signin import SignInDialog, Verifiers
from desktop.verifier_sync import fetch_verifiers
from hub.cli import app as hub_cli
from shared.device_auth import DeviceRevokedError
from shared.errors import AuthError
from shared.ids import new_ulid
from shared.store import LocalStore, PassphraseKeyProvider
from tests.desktop.test_main_window import type_into
from tests.fixtures.hubserver import HubProcess, free_port

KEY = PassphraseKeyProvider("desk test", n=2**10)
CLICK = Qt.MouseButton.LeftButton


@pytest.fixture
def admin(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`pitline hub … --json` through typer's CliRunner against the test database."""
    monkeypatch.setenv("PITLINE_DATABASE_URL", pg_dsn)
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(hub_cli, [*args, "--json"])
        assert result.exit_code == 0, (args, result.output)
        lines = [line for line in result.stdout.splitlines() if line.strip()]
        return json.loads(lines[-1]) if lines else None

    return run


def enroll_through_the_dialog(qtbot: Any, store: LocalStore, hub: HubProcess, token: str) -> FirstRunDialog:
    dialog = FirstRunDialog(store)
    qtbot.addWidget(dialog)
    # A wrong token: refused next to the token field, everything typed kept.
    qtbot.keyClicks(dialog.hub_url, hub.url)
    qtbot.keyClicks(dialog.token, "pe_not-a-real-token")
    dialog.pc_name.setText("north-office-1")
    qtbot.mouseClick(dialog.enroll_button, CLICK)
    qtbot.waitUntil(lambda: dialog.errors["token"].text() != "", timeout=20_000)
    assert "does not know this enrollment token" in dialog.errors["token"].text()
    assert (dialog.hub_url.text(), dialog.token.text(), dialog.pc_name.text()) == (
        hub.url, "pe_not-a-real-token", "north-office-1")
    assert not is_set_up(store) and dialog.enroll_button.isEnabled()
    # A hub that is not there: said next to the address.
    dialog.hub_url.setText(f"http://127.0.0.1:{free_port()}")
    dialog.token.setText(token)
    qtbot.mouseClick(dialog.enroll_button, CLICK)
    qtbot.waitUntil(lambda: dialog.errors["hub_url"].text() != "", timeout=20_000)
    assert "Cannot reach the hub" in dialog.errors["hub_url"].text() and dialog.token.text() == token
    # The real thing. The click returns at once: the network runs in the worker thread.
    dialog.hub_url.setText(hub.url)
    qtbot.mouseClick(dialog.enroll_button, CLICK)
    assert dialog.result_ is not None or not dialog.enroll_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted, timeout=20_000)
    return dialog


def sign_in(qtbot: Any, store: LocalStore, username: str, password: str) -> SignInDialog:
    dialog = SignInDialog(Verifiers(store))
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.username, username)
    qtbot.keyClicks(dialog.password, password)
    qtbot.mouseClick(dialog.button, CLICK)
    return dialog


def test_enroll_sign_in_offline_sync_with_the_device_key_then_revoked(qtbot, live_hub: HubProcess,  # type: ignore[no-untyped-def]
                                                                       admin: Any, tmp_path: Path) -> None:
    tenant = f"t-en-{new_ulid()[-6:].lower()}"
    admin("tenants", "add", tenant)
    admin("sites", "add", "north", "-t", tenant)
    admin("sites", "add", "south", "-t", tenant)
    admin("users", "add", "thandi", "-t", tenant, "--name", "Thandi Mokoena", "--password", "correct horse 7",
          "--role", "supervisor", "--site", "north")
    admin("users", "grant", "thandi", "viewer", "-t", tenant, "--site", "south")  # not this PC's site
    admin("users", "add", "piet", "-t", tenant, "--password", "piet's password", "--role", "viewer")
    admin("users", "add", "sam-south", "-t", tenant, "--password", "sam-south password", "--role", "storeman",
          "--site", "south")  # no role at north: never on this PC
    token = admin("enroll", "issue", "-t", tenant, "--site", "north", "--kind", "desktop", "--hours", "1")["token"]

    path = tmp_path / "office.db"
    with LocalStore.open(path, KEY) as store:
        dialog = enroll_through_the_dialog(qtbot, store, live_hub, token)
        assert dialog.result_ is not None
        device_id = dialog.result_.enrollment.device_id
        assert is_enrolled(store) and store.identity is not None
        assert (store.identity.device_id, store.identity.tenant_id, store.identity.site_id) == (
            device_id, tenant, "north")
        assert enrolled_sites(store) == ["north"]
        key_file = device_folder(path) / "device_key.pem"
        assert key_file.stat().st_mode & 0o777 == 0o600
        cached = Verifiers(store).users()
        assert sorted(cached) == ["piet", "thandi"]
        assert cached["thandi"]["roles"] == ["supervisor"] and cached["thandi"]["verifier"].startswith("$argon2id$")
        assert cached["thandi"]["display_name"] == "Thandi Mokoena"

    # The hub goes away: sign-in and work go on offline.
    live_hub.kill()
    with LocalStore.open(path, KEY) as store:
        refused = sign_in(qtbot, store, "thandi", "wrong horse")
        assert refused.user is None and refused.message.text() == "Wrong name or password."
        assert sign_in(qtbot, store, "sam-south", "sam-south password").user is None  # not a person of this site
        signin = sign_in(qtbot, store, "thandi", "correct horse 7")
        assert signin.result() == QDialog.DialogCode.Accepted and signin.user is not None
        assert signin.user["roles"] == ["supervisor"] and "verifier" not in signin.user
    roles = frozenset(signin.user["roles"])
    desk = build(path, KEY, actor="thandi", roles=roles, start_sync=False, verifier_interval=3600)
    qtbot.addWidget(desk.window)
    desk.window.show()
    assert desk.bridge is not None and desk.refresher is not None
    hours = desk.window.forms["equipment.usage_log"]
    type_into(qtbot, hours, {"equipment_id": "DT01", "shift_date": "2026-11-20", "shift": "day",
                             "operator": "J. Mokoena", "operating_hours": "9", "standby_hours": "2",
                             "hour_meter_start": "1000", "hour_meter_end": "1009"})
    qtbot.mouseClick(hours.save_button, CLICK)
    desk.window.show_module("Breakdowns")
    breakdown = desk.window.forms["equipment.breakdown"]
    type_into(qtbot, breakdown, {"equipment_id": "DT01", "started_at": "2026-11-20T08:15:00+00:00",
                                 "cause": "hydraulic hose burst", "fault_code": "HYD-114"})
    qtbot.mouseClick(breakdown.save_button, CLICK)
    models = [desk.window.models["equipment.usage_log"], desk.window.models["equipment.breakdown"]]

    def states() -> list[str]:
        for m in models:
            m.reload()
        return [str(m.data(m.index(0, m.columnCount() - 1))) for m in models]

    assert [m.rowCount() for m in models] == [1, 1] and states() == ["pending", "pending"]
    assert desk.store.outbox_depth() == 2
    admin("users", "disable", "piet", "-t", tenant)  # while the PC is offline

    # Back online: the device key signs the hub's challenge; the rows come back confirmed.
    live_hub.start()
    desk.bridge.start()
    desk.refresher.start()
    qtbot.waitUntil(lambda: states() == ["confirmed", "confirmed"], timeout=30_000)
    qtbot.waitUntil(lambda: desk.window.online.text() == "online", timeout=10_000)
    qtbot.waitUntil(lambda: "piet" not in Verifiers(desk.store).users(), timeout=20_000)  # disabled: gone
    assert "thandi" in Verifiers(desk.store).users()
    devices = {d["id"]: d for d in admin("devices", "list", "-t", tenant)}
    assert devices[device_id]["name"] == "north-office-1" and devices[device_id]["last_device_seq"] == 2

    # Revoked at HQ: the PC says so (and stops trying) rather than crashing.
    admin("devices", "revoke", device_id, "-t", tenant)
    type_into(qtbot, breakdown, {"equipment_id": "EX01", "started_at": "2026-11-21T09:00:00+00:00",
                                 "cause": "tyre cut", "fault_code": "TYR-2"})
    qtbot.mouseClick(breakdown.save_button, CLICK)  # wakes the push loop: 401, then the challenge is refused
    qtbot.waitUntil(lambda: desk.window.revoked is not None, timeout=30_000)
    assert desk.window.online.text() == REVOKED_TEXT
    assert "unknown_device" in (desk.store.get_meta(REVOKED_KEY) or "")
    with pytest.raises(AuthError) as caught:
        fetch_verifiers(live_hub.url, device_token_provider(desk.store))
    assert isinstance(caught.value, DeviceRevokedError)
    time.sleep(0.2)
    qtbot.wait(100)
    assert desk.window.online.text() == REVOKED_TEXT  # a later "offline: …" does not hide it
    assert sign_in(qtbot, desk.store, "thandi", "correct horse 7").user is not None  # people still read offline
    desk.close()


def test_expired_and_wrong_kind_tokens_are_explained_next_to_the_token(qtbot, live_hub: HubProcess,  # type: ignore[no-untyped-def]
                                                                        admin: Any, tmp_path: Path) -> None:
    from hub.db import connect
    from hub.identity.enrollment import enrollment_token_hash
    from pitline.harness import run_sync

    tenant = f"t-ex-{new_ulid()[-6:].lower()}"
    admin("tenants", "add", tenant)
    edge_token = admin("enroll", "issue", "-t", tenant, "--kind", "edge")["token"]
    expired = admin("enroll", "issue", "-t", tenant, "--kind", "desktop")["token"]

    async def expire() -> None:
        conn = await connect(live_hub.dsn)
        try:
            await conn.execute("UPDATE auth.enrollment_tokens SET expires_at = now() - interval '1 minute' "
                               "WHERE tenant_id = $1 AND token_hash = $2", tenant, enrollment_token_hash(expired))
        finally:
            await conn.close()

    run_sync(expire())
    with LocalStore.open(tmp_path / "office.db", KEY) as store:
        dialog = FirstRunDialog(store)
        qtbot.addWidget(dialog)
        dialog.hub_url.setText(live_hub.url)
        for token, expected in ((edge_token, "for a gateway"), (expired, "has expired")):
            dialog.errors["token"].setText("")
            dialog.token.setText(token)
            qtbot.mouseClick(dialog.enroll_button, CLICK)
            qtbot.waitUntil(lambda: dialog.errors["token"].text() != "", timeout=20_000)
            assert expected in dialog.errors["token"].text() and dialog.token.text() == token
            qtbot.waitUntil(dialog.enroll_button.isEnabled, timeout=5_000)
        assert not is_set_up(store) and store.identity is None and dialog.result() != QDialog.DialogCode.Accepted


def test_desktop_run_on_a_fresh_pc_goes_first_run_enroll_sign_in(qtbot, live_hub: HubProcess, admin: Any,  # type: ignore[no-untyped-def]
                                                                  tmp_path: Path) -> None:
    """`pitline desktop run --store …` on a fresh PC, its dialogs driven by a timer as a person would."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.cli import app as desktop_cli
    from desktop.main_window import MainWindow

    tenant = f"t-run-{new_ulid()[-6:].lower()}"
    admin("tenants", "add", tenant)
    admin("sites", "add", "north", "-t", tenant)
    admin("users", "add", "lerato", "-t", tenant, "--password", "lerato's pass", "--role", "storeman",
          "--site", "north")
    token = admin("enroll", "issue", "-t", tenant, "--site", "north", "--kind", "desktop")["token"]
    seen: list[str] = []

    def drive() -> None:
        for w in QApplication.topLevelWidgets():
            if not w.isVisible():
                continue
            if isinstance(w, FirstRunDialog) and "first run" not in seen:
                seen.append("first run")
                w.hub_url.setText(live_hub.url)
                w.token.setText(token)
                w.enroll_button.click()
            elif isinstance(w, SignInDialog) and "sign in" not in seen and Verifiers(w.verifiers.store).users():
                seen.append("sign in")
                w.username.setText("lerato")
                w.password.setText("lerato's pass")
                w.button.click()
            elif isinstance(w, MainWindow) and "window" not in seen:
                seen.append("window")
                seen.append(",".join(sorted(w.ops["Stock"].roles)))
                w.close()  # as a person would; the last window closed ends `run` (QApplication.quit() from here
                # left the test process's timers dead for the tests after this one)

    timer = QTimer()
    timer.timeout.connect(drive)
    timer.start(50)
    result = CliRunner().invoke(desktop_cli, ["run", "--store", str(tmp_path / "fresh.db"), "--passphrase",
                                              "office pass", "--idle-minutes", "60"])
    timer.stop()
    assert result.exit_code == 0, (result.output, result.exception, seen)
    assert seen == ["first run", "sign in", "window", "storeman"]
    with LocalStore.open(tmp_path / "fresh.db", PassphraseKeyProvider("office pass")) as store:
        assert is_enrolled(store) and "lerato" in Verifiers(store).users()
