"""Generating a roster off the UI thread (D62).

The largest generation (104 weeks of a 40-person crew, 29,120 rows) is ~2.4 s of reading, planning and writing,
almost all of it the store's `enqueue_many` (validation, then one transaction). `generate` does the whole of it on
the store it is given; `RosterWorker` runs it in a thread of its own, on a second connection to the same encrypted
file (`LocalStore.open_another`): an apsw connection carries its transaction, so sharing the UI's would pull the
UI's own writes (a draft saved on a keystroke) into the worker's transaction or break them. One generation at a
time; results and failures come back as signals (emitted from the worker thread: connect them queued). The write
is one `enqueue_many`, one transaction: a failure (a full disk, a busy file) leaves nothing of it behind."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from PySide6.QtCore import QObject, Signal, SignalInstance

from desktop.roster_rows import ROSTER, crew_for, members_of, rotation_of, window_rows
from desktop.site_settings_store import current_settings
from shared.domain.roster_generation import check_weeks, gaps, merged_rows, plan_generation
from shared.envelopes import Op
from shared.errors import ValidationError
from shared.store import LocalStore, MutationDraft

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class GenerationRequest:
    """What was typed in the form (checked by `generate`, errors beside these fields)."""

    crew: str
    start_date: str
    weeks: str
    actor: str


@dataclass(frozen=True)
class Generated:
    crew_id: str
    start: date
    weeks: int
    written: int  # mutations queued (0: the roster was already so)
    gaps: list[tuple[date, str]]
    summary: str


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"{name} is not a date", {name: "must be a date (YYYY-MM-DD)"}) from None


def generate(store: LocalStore, request: GenerationRequest, progress: Progress = lambda _s: None) -> Generated:
    """Read the crew, plan its weeks and queue the rows, on `store` (whichever thread owns it). ValidationError
    (with field messages) or StoreError; nothing is written unless everything is."""
    crew_id, crew = crew_for(store, request.crew)
    start, weeks = _date(request.start_date, "start_date"), check_weeks(request.weeks)
    rotation, anchor = rotation_of(store, crew_id, crew)
    members = members_of(store, crew_id)
    end = date.fromordinal(start.toordinal() + 7 * weeks - 1)
    progress(f"Reading the roster held for {start} to {end}…")
    existing = window_rows(store, start, end)
    plan = plan_generation(rotation, anchor, start, weeks, current_settings(store).pattern, crew_id, members,
                           existing)
    drafts = [MutationDraft(ROSTER, i, Op.CREATE, p, request.actor) for i, p in sorted(plan.creates.items())]
    drafts += [MutationDraft(ROSTER, i, Op.UPDATE, c, request.actor) for i, c in sorted(plan.updates.items())]
    if drafts:
        progress(f"Writing {len(drafts)} roster day(s)…")
        store.enqueue_many(drafts)
    kept = f"; {len(plan.kept_edits)} hand-edited day(s) kept" if plan.kept_edits else ""
    summary = (f"Crew {crew_id}, {plan.start} to {plan.end}: {len(plan.creates)} new, {len(plan.updates)} changed, "
               f"{plan.unchanged} already so{kept}.")
    return Generated(crew_id, start, weeks, len(drafts), gaps(merged_rows(existing, plan).values(), plan.start,
                                                              plan.end), summary)


class RosterWorker(QObject):
    """`start(request)` generates in a thread on a connection from `opener`; one at a time (False while one
    runs). `progress(text)`, then `finished(Generated)` or `failed(exception)`, all from the worker thread."""

    progress = Signal(str)
    finished = Signal(object)
    failed = Signal(object)

    def __init__(self, opener: Callable[[], LocalStore]) -> None:
        super().__init__()
        self.opener = opener
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self, request: GenerationRequest) -> bool:
        with self._lock:
            if self.busy:
                return False
            self._thread = threading.Thread(target=self._work, args=(request,), name="desktop-roster", daemon=True)
            self._thread.start()
            return True

    def wait(self, seconds: float) -> bool:
        """Wait for a running generation (closing the window, tests); True when none runs any more."""
        thread = self._thread
        if thread is not None:
            thread.join(seconds)
        return not self.busy

    def _work(self, request: GenerationRequest) -> None:
        # The largest generation allocates some 300,000 containers: the cyclic collector would run full
        # collections over the whole process (~70 ms each, holding the GIL, so the UI thread stops with it). Its
        # garbage is freed by reference counting when `generate` returns; the collector is back on right after.
        collecting = gc.isenabled()
        gc.disable()
        try:
            result = self._generate(request)
        except Exception as exc:  # every failure is said on the screen, never lost in a thread
            if not isinstance(exc, ValidationError):
                log.warning("roster generation failed: %s", exc)
            self._emit(self.failed, exc)
        else:
            self._emit(self.finished, result)
        finally:
            if collecting:
                gc.enable()

    def _generate(self, request: GenerationRequest) -> Generated:
        store = self.opener()
        try:
            return generate(store, request, self.progress.emit)
        finally:
            store.close()

    @staticmethod
    def _emit(signal: SignalInstance, value: object) -> None:
        try:
            signal.emit(value)
        except RuntimeError:  # the screen was closed meanwhile: nobody to tell
            pass
