"""No keyring on this PC (keyring's own `fail` backend, what a Linux box without a Secret Service gets):
the desktop asks for a passphrase and says why, and never ends in a traceback."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
from keyring.backends import fail
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from typer.testing import CliRunner

from desktop.cli import app as desktop_cli
from desktop.store_key import PassphraseDialog, StoreKeyUnavailable, keyring_problem, store_key
from shared.store import KeyringKeyProvider, LocalStore, PassphraseKeyProvider
from shared.store.keys import create_data_key


def quick(passphrase: str) -> PassphraseKeyProvider:
    return PassphraseKeyProvider(passphrase, n=2**10)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(before)


def answer_dialogs(qtbot, answers: list[str], seen: list[str]) -> QTimer:  # type: ignore[no-untyped-def]
    """Type into each passphrase dialog as it appears (the dialog runs its own event loop)."""

    def drive() -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, PassphraseDialog) and w.isVisible() and answers:
                seen.append(w.reason.text())
                text = answers.pop(0)
                w.passphrase.setText(text)
                w.again.setText(text)
                w.button.click()
                if w.isVisible():  # refused (too short): say so and give up
                    seen.append(w.message.text())
                    w.reject()

    timer = QTimer()
    timer.timeout.connect(drive)
    timer.start(20)
    return timer


def test_without_a_keyring_a_new_store_is_protected_by_a_passphrase_asked_for_with_the_reason(  # type: ignore[no-untyped-def]
        qtbot, tmp_path: Path, no_keyring: None) -> None:
    assert keyring_problem() is not None
    with pytest.raises(Exception, match="keyring"):  # what the desktop used to let through as a traceback
        LocalStore.open(tmp_path / "bare.db", KeyringKeyProvider())
    seen: list[str] = []
    timer = answer_dialogs(qtbot, ["office passphrase"], seen)
    key = store_key(tmp_path / "desk.db", ask=_dialog, passphrase_factory=quick)
    timer.stop()
    assert "no OS keyring" in seen[0] and "passphrase" in seen[0]
    with LocalStore.open(tmp_path / "desk.db", key) as store:  # the store is made under that passphrase
        store.set_meta("x", "1")
    seen.clear()
    timer = answer_dialogs(qtbot, ["not the one", "office passphrase"], seen)
    again = store_key(tmp_path / "desk.db", ask=_dialog, passphrase_factory=quick)
    timer.stop()
    assert seen[0] == "This PC's data is protected by a passphrase." and "does not open" in seen[1]
    with LocalStore.open(tmp_path / "desk.db", again) as store:
        assert store.get_meta("x") == "1"


def _dialog(reason: str, new: bool) -> str | None:
    dialog = PassphraseDialog(reason, new=new)
    return dialog.value if dialog.exec() == PassphraseDialog.DialogCode.Accepted else None


def test_a_keyring_protected_store_without_the_keyring_is_refused_in_a_sentence(tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                                  no_keyring: None) -> None:
    keyring.set_keyring(_MemoryKeyring())
    create_data_key(tmp_path / "desk.db", KeyringKeyProvider())
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(StoreKeyUnavailable, match="OS keyring, which cannot be reached now"):
        store_key(tmp_path / "desk.db", ask=lambda *_: pytest.fail("a passphrase cannot open a keyring store"))


def test_run_without_a_keyring_says_why_and_exits_without_a_traceback(qtbot, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                      no_keyring: None) -> None:
    seen: list[str] = []

    def drive() -> None:
        for w in QApplication.topLevelWidgets():
            if isinstance(w, PassphraseDialog) and w.isVisible():
                seen.append(w.reason.text())
                w.reject()  # the person gives up
            elif isinstance(w, QMessageBox) and w.isVisible():
                seen.append(w.text())
                w.accept()

    timer = QTimer()
    timer.timeout.connect(drive)
    timer.start(20)
    result = CliRunner().invoke(desktop_cli, ["run", "--store", str(tmp_path / "fresh.db")])
    timer.stop()
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
    assert "no OS keyring" in seen[0] and "No passphrase given" in seen[1]
    assert "Traceback" not in result.output and "No passphrase given" in result.output


class _MemoryKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.values.pop((service, username), None)
