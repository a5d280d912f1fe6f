"""Which key opens the office's store: a passphrase given on the command line, else the OS keyring, else
(a Linux PC without a running Secret Service, a locked-down session) a passphrase the person types, with
the reason said plainly instead of a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QPushButton, QVBoxLayout

from shared.errors import KeyUnavailableError, StoreError, WrongKeyError
from shared.store import KeyringKeyProvider, PassphraseKeyProvider
from shared.store.keys import KeyProvider, key_file_for, unwrap_data_key

MIN_LENGTH = 8
TRIES = 5
NO_KEYRING = ("This PC has no OS keyring that Pitline can use ({reason}), so the office's data is protected "
              "by a passphrase instead. Keep it safe: without it the data on this PC cannot be opened.")


class StoreKeyUnavailable(Exception):
    """No key can open the store; the message is for the person."""


def keyring_problem() -> str | None:
    """Why the OS keyring cannot hold the store's key, or None when it can."""
    try:
        import keyring

        keyring.get_password("pitline", "store-kek")
    except Exception as exc:  # any backend's failure (no backend, D-Bus down, locked) means the same here
        return str(exc) or type(exc).__name__
    return None


def _protected_by(store_path: Path) -> str | None:
    try:
        return str(json.loads(key_file_for(store_path).read_text()).get("kek"))
    except FileNotFoundError:
        return None
    except (ValueError, AttributeError) as exc:
        raise StoreKeyUnavailable(f"The store's key file {key_file_for(store_path)} is damaged: {exc}") from None


class PassphraseDialog(QDialog):
    """Asks for the store's passphrase (twice for a new store), saying why it is asked for."""

    def __init__(self, reason: str, *, new: bool) -> None:
        super().__init__()
        self.new = new
        self.value: str | None = None
        self.setWindowTitle("Passphrase for this PC's data")
        self.reason = QLabel(reason)
        self.reason.setWordWrap(True)
        self.passphrase, self.again = QLineEdit(), QLineEdit()
        for edit, hint in ((self.passphrase, "passphrase"), (self.again, "the same passphrase again")):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setPlaceholderText(hint)
        self.again.setVisible(new)
        self.message = QLabel("")
        self.message.setStyleSheet("color: #b00020")
        self.button = QPushButton("Protect the data" if new else "Open")
        self.button.setDefault(True)
        self.button.clicked.connect(self.attempt)
        layout = QVBoxLayout(self)
        for widget in (self.reason, self.passphrase, self.again, self.message, self.button):
            layout.addWidget(widget)

    def attempt(self) -> None:
        text = self.passphrase.text()
        if len(text) < MIN_LENGTH:
            self.message.setText(f"At least {MIN_LENGTH} characters.")
            return
        if self.new and self.again.text() != text:
            self.message.setText("The two passphrases differ.")
            return
        self.value = text
        self.accept()


Ask = Callable[[str, bool], str | None]  # (reason, new store) -> passphrase, None when the person gives up


def ask_with_dialog(reason: str, new: bool) -> str | None:
    dialog = PassphraseDialog(reason, new=new)
    return dialog.value if dialog.exec() == QDialog.DialogCode.Accepted else None


def store_key(store_path: Path, passphrase: str | None = None, ask: Ask = ask_with_dialog,
              passphrase_factory: Callable[[str], PassphraseKeyProvider] = PassphraseKeyProvider) -> KeyProvider:
    """The key provider that opens (or will create) the store at `store_path`. Raises StoreKeyUnavailable
    with a sentence for the person when none can."""
    if passphrase:
        return passphrase_factory(passphrase)
    kind = _protected_by(store_path)
    if kind == "keyfile":
        raise StoreKeyUnavailable("This store is protected by a gateway key file, not for the desktop.")
    if kind == "passphrase":
        reason = "This PC's data is protected by a passphrase."
    else:
        problem = keyring_problem()
        if problem is None:
            return KeyringKeyProvider()
        if kind == "keyring":
            raise StoreKeyUnavailable(
                f"This PC's data is protected by the OS keyring, which cannot be reached now ({problem}). Sign in "
                "to the desktop session that unlocks it (on Linux: a running Secret Service such as GNOME "
                "Keyring or KWallet), then start Pitline again. Nothing was changed.")
        reason = NO_KEYRING.format(reason=problem)
    new = kind is None
    for _ in range(TRIES):
        typed = ask(reason, new)
        if typed is None:
            raise StoreKeyUnavailable("No passphrase given: the data on this PC stays closed.")
        try:
            provider = passphrase_factory(typed)
            if not new:
                unwrap_data_key(store_path, provider)  # a wrong passphrase is said here, and asked again
        except WrongKeyError:
            reason = "That passphrase does not open this PC's data. Try again."
            continue
        except KeyUnavailableError as exc:
            reason = str(exc)
            continue
        except StoreError as exc:
            raise StoreKeyUnavailable(str(exc)) from None
        return provider
    raise StoreKeyUnavailable(f"{TRIES} wrong passphrases: the data on this PC stays closed.")
