"""Offline sign-in: people are checked against argon2 verifiers cached in the encrypted store (the hub sends
them with `GET /v1/users/verifiers`, see desktop/verifier_sync.py: argon2id PHC strings that carry their own
parameters; a standalone demo site creates its own). Anything else in the cache is refused. Repeated failures lock the
name out for a while, and the lockout survives a restart because it is kept in the store too."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from shared.store import LocalStore

VERIFIERS_KEY = "desktop.verifiers"
FAILURES_KEY = "desktop.signin_failures"
MAX_FAILURES = 5
LOCKOUT_SECONDS = 300.0
# Cheap enough for a site-office PC to check in ~50 ms; the hub's verifiers carry their own parameters.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


class SignInRefused(Exception):
    """Wrong name or password, or locked out; the message is for the person."""


class Verifiers:
    """The cached verifiers and the failure counters, both inside the encrypted store."""

    def __init__(self, store: LocalStore, clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock

    def users(self) -> dict[str, dict[str, Any]]:
        raw = self.store.get_meta(VERIFIERS_KEY)
        return dict(orjson.loads(raw)) if raw else {}

    def cache(self, users: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace the cache with the hub's list ({username: {verifier, roles, sites}})."""
        self.store.set_meta(VERIFIERS_KEY, orjson.dumps(dict(users)).decode())

    def add_local_user(self, username: str, password: str, roles: list[str] | None = None) -> None:
        users = self.users()
        users[username] = {"verifier": _HASHER.hash(password), "roles": roles or ["supervisor"]}
        self.cache(users)

    def _failures(self) -> dict[str, list[float]]:
        raw = self.store.get_meta(FAILURES_KEY)
        return dict(orjson.loads(raw)) if raw else {}

    def locked_for(self, username: str) -> float:
        """Seconds left of a lockout (0 when none)."""
        recent = [t for t in self._failures().get(username, []) if self.clock() - t < LOCKOUT_SECONDS]
        if len(recent) < MAX_FAILURES:
            return 0.0
        return max(0.0, LOCKOUT_SECONDS - (self.clock() - recent[-MAX_FAILURES]))

    def sign_in(self, username: str, password: str) -> dict[str, Any]:
        left = self.locked_for(username)
        if left > 0:
            raise SignInRefused(f"Too many failed attempts: try again in {int(left // 60) + 1} min.")
        user = self.users().get(username)
        try:
            if user is None:
                raise VerificationError("unknown user")
            verifier = str(user.get("verifier") or "")
            if not verifier.startswith(("$argon2id$", "$argon2i$", "$argon2d$")):
                raise InvalidHashError("not an argon2 verifier")
            _HASHER.verify(verifier, password)
        except (VerificationError, InvalidHashError):
            failures = self._failures()
            failures.setdefault(username, []).append(self.clock())
            failures[username] = failures[username][-MAX_FAILURES:]
            self.store.set_meta(FAILURES_KEY, orjson.dumps(failures).decode())
            raise SignInRefused("Wrong name or password.") from None
        failures = self._failures()
        if failures.pop(username, None) is not None:
            self.store.set_meta(FAILURES_KEY, orjson.dumps(failures).decode())
        return {"username": username, **{k: v for k, v in user.items() if k != "verifier"}}


class SignInDialog(QDialog):
    def __init__(self, verifiers: Verifiers, title: str = "Sign in") -> None:
        super().__init__()
        self.verifiers = verifiers
        self.user: dict[str, Any] | None = None
        self.setWindowTitle(title)
        self.username = QLineEdit()
        self.username.setObjectName("username")
        self.password = QLineEdit()
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.message = QLabel("")
        self.message.setStyleSheet("color: #b00020")
        self.button = QPushButton("Sign in")
        self.button.setDefault(True)
        self.button.clicked.connect(self.attempt)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        form.addRow("Name", self.username)
        form.addRow("Password", self.password)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.button)

    def attempt(self) -> None:
        try:
            self.user = self.verifiers.sign_in(self.username.text().strip(), self.password.text())
        except SignInRefused as exc:
            self.message.setText(str(exc))
            self.password.clear()
            return
        self.password.clear()
        self.accept()


class LockDialog(SignInDialog):
    """The idle lock: says who is signed in; their password goes on with their session, another person's
    starts that person's own (`desktop.app.SessionLock`). Escape or the window's close button do not leave a
    window without content: the lock stays until someone signs in, or the person closes Pitline."""

    quit_requested = Signal()

    def __init__(self, verifiers: Verifiers, signed_in: str) -> None:
        super().__init__(verifiers, "Session locked")
        self.who = QLabel(f"Signed in: {signed_in}. Enter your password to go on, or sign in as yourself to "
                          "start your own session (theirs is closed; their saved work stays).")
        self.who.setObjectName("signed_in")
        self.who.setWordWrap(True)
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(0, self.who)
        self.username.setText(signed_in)
        self.password.setFocus()
        self.quit_button = QPushButton("Close Pitline")
        self.quit_button.setAutoDefault(False)
        self.quit_button.clicked.connect(self.quit_requested)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.quit_button)
        layout.addLayout(row)

    def reject(self) -> None:
        """Escape / close: stay locked (a rejected lock used to leave the window with its content hidden)."""
        self.message.setText("The session stays locked until someone signs in (or close Pitline).")


class IdleLock(QObject):
    """Emits `locked` after `seconds` without a key press or mouse action anywhere in the application."""

    locked = Signal()
    _ACTIVITY = frozenset({QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                           QEvent.Type.Wheel})

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(int(seconds * 1000))
        self.timer.timeout.connect(self.locked)

    def start(self) -> None:
        self.timer.start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in self._ACTIVITY and self.timer.isActive():
            self.timer.start()
        return False
