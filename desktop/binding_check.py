"""Refuse to start on a Qt binding that corrupts the interpreter, instead of aborting minutes later.

PySide6 6.12.0 on CPython 3.11 drops a reference to None on every call that returns nothing (setItem,
setText, addItem…); once None's count reaches zero the interpreter aborts with "Fatal Python error:
none_dealloc", taking unsaved work with it. pyproject.toml excludes it; this catches a machine where it was
installed anyway. (On CPython 3.12+ None is immortal, and the same binding is harmless.)"""

from __future__ import annotations

import sys

PROBE_CALLS = 200


def drops_none_references() -> bool:
    """True when calls into the installed PySide6 that return nothing leak references to None."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(PROBE_CALLS):
        probe.setObjectName("probe")
    # A healthy binding moves the count by a few at most (the interpreter's own bookkeeping).
    return before - sys.getrefcount(None) >= PROBE_CALLS // 2


def refusal() -> str | None:
    """What to tell the person when this binding must not run the app, else None."""
    if not drops_none_references():
        return None
    import PySide6

    return (f"PySide6 {PySide6.__version__} on Python {sys.version.split()[0]} is broken (it loses references "
            "to None and the app would abort). Install a version the project supports: "
            "pip install 'PySide6-Essentials<6.12' 'PySide6-Addons<6.12' (scripts/setup.sh does this).")
