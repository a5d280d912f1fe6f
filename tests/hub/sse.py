"""A real SSE reader in a thread: collects events from /v1/sync/stream, resumes with Last-Event-ID."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import orjson
from httpx_sse import connect_sse


class StreamReader:
    def __init__(self, hub_url: str, token: str, after: int = 0, resume: bool = True) -> None:
        self.hub_url = hub_url
        self.token = token
        self.last_id = after
        self.resume = resume
        self.events: list[dict[str, Any]] = []
        self.heartbeats = 0
        self.connections = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> StreamReader:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with httpx.Client(timeout=httpx.Timeout(5.0, read=3.0)) as client:
                    headers = {"Authorization": f"Bearer {self.token}", "Last-Event-ID": str(self.last_id)}
                    with connect_sse(client, "GET", f"{self.hub_url}/v1/sync/stream", headers=headers) as source:
                        if source.response.status_code != 200:
                            self.errors.append(f"{source.response.status_code}")
                            time.sleep(0.2)
                            continue
                        self.connections += 1
                        for sse in source.iter_sse():
                            if self._stop.is_set():
                                return
                            if sse.event == "change":
                                event = orjson.loads(sse.data)
                                if event["seq"] <= self.last_id:
                                    self.errors.append(f"duplicate or old seq {event['seq']} after {self.last_id}")
                                self.events.append(event)
                                self.last_id = event["seq"]
            except (httpx.HTTPError, OSError) as exc:
                self.errors.append(type(exc).__name__)
            if not self.resume:
                return
            time.sleep(0.1)
