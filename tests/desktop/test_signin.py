"""Offline sign-in against cached argon2 verifiers, lockout that survives a restart, idle lock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt

from desktop.app import attach_idle_lock
from desktop.first_run import FirstRunDialog, is_set_up, start_standalone
from desktop.signin import MAX_FAILURES, SignInDialog, SignInRefused, Verifiers
from shared.store import LocalStore, PassphraseKeyProvider
from tests.desktop.test_main_window import open_desktop

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


def test_the_session_locks_when_idle(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    desk = open_desktop(tmp_path / "desk.db")
    qtbot.addWidget(desk.window)
    Verifiers(desk.store).add_local_user("supervisor", "pa55word!")
    desk.window.show()
    lock = attach_idle_lock(desk.window, Verifiers(desk.store), seconds=0.2)
    with qtbot.waitSignal(lock.locked, timeout=3000):
        pass
    assert not desk.window.centralWidget().isVisible()
    dialog = desk.window.lock_dialog
    dialog.username.setText("supervisor")
    dialog.password.setText("pa55word!")
    dialog.attempt()
    assert desk.window.centralWidget().isVisible()
    desk.close()
