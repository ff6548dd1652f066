"""Servers and who is busy: a job takes the least busy free server that has its model."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from studio.core.errors import ServerUnavailableError
from studio.remote.catalog import ServerCatalog
from studio.remote.connection import Connection
from studio.remote.job import StopFlag

log = logging.getLogger(__name__)

RETRY_MISSING_S = 30.0  # how often to ask again after a server that did not answer


class ServerPool:
    def __init__(self, connections: Sequence[Connection]) -> None:
        self.connections = list(connections)
        self._catalogs: dict[str, ServerCatalog] = {}
        self._busy: set[str] = set()
        self.jobs_run: dict[str, int] = {c.name: 0 for c in self.connections}  # jobs given
        self._free = threading.Condition()
        self._refreshed = 0.0
        self._down_since: dict[str, float] = {}

    def refresh(self) -> dict[str, ServerCatalog]:
        """Ask every server what it has; one that does not answer is left out, with a warning.
        Raises `ServerUnavailableError` when none answers."""
        catalogs, problems = {}, []
        for connection in self.connections:
            try:
                catalogs[connection.name] = ServerCatalog.read(connection)
            except ServerUnavailableError as exc:
                log.warning("%s", exc)
                problems.append(str(exc))
        self._refreshed = time.monotonic()
        if not catalogs:
            raise ServerUnavailableError("; ".join(problems) or "no server configured")
        with self._free:
            self._catalogs = catalogs
            self._free.notify_all()
        return catalogs

    def catalogs(self) -> dict[str, ServerCatalog]:
        """What each server had when last asked; asked again when a server was missing a
        while ago (it may be back)."""
        missing = len(self._catalogs) < len(self.connections)
        if not self._catalogs or (
            missing and time.monotonic() - self._refreshed >= RETRY_MISSING_S
        ):
            return self.refresh()
        return self._catalogs

    def holders(self, model: str) -> list[Connection]:
        catalogs = self.catalogs()
        return [
            c
            for c in self.connections
            if c.name in catalogs and model in catalogs[c.name].runnable()
        ]

    def acquire(self, model: str, exclude: set[str], cancel: StopFlag) -> Connection | None:
        """Wait for a free server holding `model`, not in `exclude`; None when there is none
        left to try (or on cancel)."""
        with self._free:
            while not cancel.is_set():
                candidates = [c for c in self.holders(model) if c.name not in exclude]
                if not candidates:
                    return None
                # a server that just failed gets work only when every other one has failed too
                healthy = [c for c in candidates if not self._recently_down(c)] or candidates
                choices = [c for c in healthy if c.name not in self._busy]
                if choices:
                    chosen = min(choices, key=lambda c: self.jobs_run[c.name])
                    self._busy.add(chosen.name)
                    self.jobs_run[chosen.name] += 1
                    return chosen
                self._free.wait(0.2)
        return None

    def mark_down(self, connection: Connection) -> None:
        with self._free:
            self._down_since[connection.name] = time.monotonic()

    def mark_up(self, connection: Connection) -> None:
        with self._free:
            self._down_since.pop(connection.name, None)

    def _recently_down(self, connection: Connection) -> bool:
        since = self._down_since.get(connection.name)
        return since is not None and time.monotonic() - since < RETRY_MISSING_S

    def release(self, connection: Connection) -> None:
        with self._free:
            self._busy.discard(connection.name)
            self._free.notify_all()

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
