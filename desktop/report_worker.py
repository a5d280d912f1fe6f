"""Work off the UI thread for the HQ report screens, in the spirit of Anki's QueryOp: `run(work, on_done,
on_fail)` runs `work()` in a thread and calls back on the GUI thread (a queued signal). Only the latest run
counts: a screen asked twice shows the second answer, whichever thread finishes first."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from desktop.report_client import ReportError


class Fetcher(QObject):
    _finished = Signal(int, bool, object)  # ticket, ok, result or ReportError

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ticket = 0
        self._running = 0
        self._callbacks: tuple[Callable[[Any], None], Callable[[ReportError], None]] | None = None
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._running > 0

    def run(self, work: Callable[[], Any], on_done: Callable[[Any], None],
            on_fail: Callable[[ReportError], None]) -> None:
        self._ticket += 1
        ticket = self._ticket
        self._callbacks = (on_done, on_fail)
        self._running += 1

        def target() -> None:
            try:
                result: Any = work()
                ok = True
            except ReportError as exc:
                result, ok = exc, False
            except Exception as exc:  # a bug or a file that cannot be written: said on the screen, not lost
                result, ok = ReportError("bad", f"{type(exc).__name__}: {exc}"), False
            try:
                self._finished.emit(ticket, ok, result)
            except RuntimeError:  # the screen was closed while the hub answered: nobody to tell
                pass

        threading.Thread(target=target, name="desktop-report", daemon=True).start()

    def _deliver(self, ticket: int, ok: bool, result: Any) -> None:
        self._running -= 1
        if ticket != self._ticket or self._callbacks is None:
            return  # an older run: its screen has asked again since
        on_done, on_fail = self._callbacks
        if ok:
            on_done(result)
        else:
            on_fail(result)
