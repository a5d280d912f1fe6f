"""Offline sign-in against cached argon2 verifiers, lockout that survives a restart, idle lock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from desktop.first_run import FirstRunDialog, is_set_up, start_standalone
from desktop.signin import MAX_FAILURES, SignInDialog, SignInRefused, Verifiers
from shared.store import DeviceIdentity, LocalStore, PassphraseKeyProvider

KEY = PassphraseKeyProvider("desk test", n=2**10)


def test_sign_in_offline_through_the_dialog(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with LocalStore.open(tmp_path / "s.db", KEY) as store:
        start_standalone(store, "thandi", "correct horse", with_demo_data=False)
        dialog = SignInDialog(Verifiers(store))
        qtbot.addWidget(dialog)
        qtbot.keyClicks(dialog.username, "thandi")
        qtbot.keyClicks(dialog.password, "wrong one")
        qtbot.mouseClick(dialog.button, Qt.MouseButton.LeftButton)
        assert dialog.message.text() == "Wrong name or password." and dialog.user is None
        qtbot.keyClicks(dialog.password, "correct horse")
        qtbot.mouseClick(dialog.button, Qt.MouseButton.LeftButton)
        assert dialog.user is not None and dialog.user["username"] == "thandi"
        assert "verifier" not in dialog.user


def test_lockout_after_repeated_failures_survives_a_restart(tmp_path: Path) -> None:
    now = [1_000_000.0]
    with LocalStore.open(tmp_path / "s.db", KEY) as store:
        Verifiers(store).add_local_user("sipho", "pa55word!")
        v = Verifiers(store, clock=lambda: now[0])
        for _ in range(MAX_FAILURES):
            with pytest.raises(SignInRefused, match="Wrong"):
                v.sign_in("sipho", "guess")
    with LocalStore.open(tmp_path / "s.db", KEY) as store:
        v = Verifiers(store, clock=lambda: now[0])
        with pytest.raises(SignInRefused, match="Too many"):
            v.sign_in("sipho", "pa55word!")  # even the right password while locked
        now[0] += 301
        assert v.sign_in("sipho", "pa55word!")["username"] == "sipho"


def test_first_run_refuses_a_short_password_then_starts_a_demo_site(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with LocalStore.open(tmp_path / "s.db", KEY) as store:
        dialog = FirstRunDialog(store)
        qtbot.addWidget(dialog)
        dialog.password.setText("short")
        dialog._demo()
        assert "8 characters" in dialog.message.text() and not is_set_up(store)
        dialog.password.setText("long enough")
        dialog._demo()
        assert is_set_up(store) and store.count("equipment.unit") == 4


def locked_session(qtbot, tmp_path: Path):  # type: ignore[no-untyped-def]
    """thandi (supervisor) signed in; the lock has come down. Sipho may sign in on this PC as a storeman."""
    from desktop.app import SessionLock, build

    def open_session(actor: str, roles: frozenset[str]):  # type: ignore[no-untyped-def]
        desk = build(tmp_path / "desk.db", KEY, identity=DeviceIdentity("desk-1", "t-desk", "north"), actor=actor,
                     roles=roles, start_sync=False)
        qtbot.addWidget(desk.window)
        return desk

    first = open_session("thandi", frozenset({"supervisor"}))
    verifiers = Verifiers(first.store)
    verifiers.add_local_user("thandi", "pa55word!", roles=["supervisor"])
    verifiers.add_local_user("sipho", "st0reman!", roles=["storeman"])
    first.window.show()
    session = SessionLock(first, open_session, seconds=0.2)
    with qtbot.waitSignal(session.lock.locked, timeout=3000):
        pass
    assert session.dialog is not None and not first.window.centralWidget().isVisible()
    return session, first


def sign_in(qtbot, dialog, name: str, password: str) -> None:  # type: ignore[no-untyped-def]
    dialog.username.setText(name)
    dialog.password.setText(password)
    qtbot.mouseClick(dialog.button, Qt.MouseButton.LeftButton)


def test_the_lock_names_who_is_signed_in_and_their_password_goes_on_in_the_same_window(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session, first = locked_session(qtbot, tmp_path)
    dialog = session.dialog
    assert "Signed in: thandi" in dialog.who.text() and dialog.username.text() == "thandi"
    sign_in(qtbot, dialog, "thandi", "pa55word!")
    assert session.desktop is first and first.window.centralWidget().isVisible()
    assert session.lock.timer.isActive()  # locks again after the next idle spell
    session.stop()
    first.close()


def test_another_person_unlocking_gets_a_new_session_with_their_name_and_rights(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session, first = locked_session(qtbot, tmp_path)
    with qtbot.waitSignal(session.switched, timeout=5000):
        sign_in(qtbot, session.dialog, "sipho", "st0reman!")
    new = session.desktop
    assert new is not first and new.window.isVisible() and not first.window.isVisible()
    assert (new.window.actor, new.window.roles) == ("sipho", frozenset({"storeman"}))
    screen = new.window.ops["Work orders"]
    assert (screen.actor, screen.roles) == ("sipho", frozenset({"storeman"}))
    form = new.window.forms["equipment.breakdown"]
    form.inputs["equipment_id"].setText("DT01")
    form.inputs["started_at"].setText("2026-11-20T08:15:00+00:00")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    [mutation] = new.store.outbox_batch()
    assert mutation.actor == "sipho"  # not thandi's name on sipho's write
    assert new.window.windowTitle().endswith("sipho")
    session.stop()
    new.close()


def test_escape_on_the_lock_keeps_it_locked_instead_of_leaving_a_dead_window(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session, first = locked_session(qtbot, tmp_path)
    dialog = session.dialog
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    dialog.close()  # the window's close button goes the same way
    assert dialog.isVisible() and "stays locked" in dialog.message.text()
    assert not first.window.centralWidget().isVisible()
    sign_in(qtbot, dialog, "thandi", "pa55word!")
    assert first.window.centralWidget().isVisible() and not dialog.isVisible()
    session.stop()
    first.close()


def test_close_pitline_from_the_lock_closes_the_window(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    session, first = locked_session(qtbot, tmp_path)
    qtbot.mouseClick(session.dialog.quit_button, Qt.MouseButton.LeftButton)
    assert not first.window.isVisible() and not session.dialog.isVisible()
    session.stop()
    first.close()


def test_first_run_warns_a_plain_http_hub_sends_credentials_unencrypted_not_for_this_pc(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path) -> None:
    with LocalStore.open(tmp_path / "s.db", KEY) as store:
        dialog = FirstRunDialog(store)
        qtbot.addWidget(dialog)
        dialog.show()
        assert not dialog.http_warning.isVisible()
        for url, warned in (("http://hub.north-site.example:8000", True), ("http://10.20.0.5", True),
                            ("HTTP://Hub.Example", True), ("https://hub.north-site.example", False),
                            ("http://localhost:8000", False), ("http://127.0.0.1:8000", False),
                            ("http://[::1]:8000", False)):
            dialog.hub_url.clear()
            qtbot.keyClicks(dialog.hub_url, url)
            assert dialog.http_warning.isVisible() is warned, url
            assert ("unencrypted" in dialog.http_warning.text()) is warned, url
            assert ("unencrypted" in dialog.enroll_button.text()) is warned, url
