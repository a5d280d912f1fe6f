"""A TCP proxy the scenarios and tests put between a device and the hub, to take the link away.

`down()` refuses new connections and cuts the open ones (the site's uplink is gone); `up()` brings it back;
`cut()` drops every open connection once, mid-request or mid-stream, as a flaky radio link does. Plain
threads and blocking sockets: it carries a few dozen connections, and it must not share an event loop
with the code under test."""

from __future__ import annotations

import contextlib
import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((host, 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._up = threading.Event()
        self._up.set()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._closing = False
        self.connections = 0
        self.cuts = 0
        self._thread = threading.Thread(target=self._accept_loop, name=f"proxy-{self.port}", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._up.is_set()

    def up(self) -> None:
        self._up.set()

    def down(self) -> None:
        self._up.clear()
        self.cut()

    def cut(self) -> int:
        """Drop every open connection now; returns how many were dropped."""
        with self._lock:
            victims = list(self._open)
            self._open.clear()
        for sock in victims:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        if victims:
            self.cuts += 1
        return len(victims) // 2

    def close(self) -> None:
        self._closing = True
        self.cut()
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                with contextlib.suppress(OSError):
                    client.close()  # the client sees its connection reset, as with a dead uplink
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
                self.connections += 1
            finished = threading.Semaphore(0)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst, finished), daemon=True).start()
            threading.Thread(target=self._reap, args=(client, upstream, finished), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, finished: threading.Semaphore) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
            finished.release()

    def _reap(self, client: socket.socket, upstream: socket.socket, finished: threading.Semaphore) -> None:
        """Close the pair once both directions ended (half-closes pass through until then)."""
        finished.acquire()
        finished.acquire()
        with self._lock:
            self._open.discard(client)
            self._open.discard(upstream)
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.close()
