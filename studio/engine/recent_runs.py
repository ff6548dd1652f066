"""The timelines of the last runs, so an earlier image's steps can still be scrubbed, decoded
and exported.

All kept runs share one byte budget: when a new run pushes them over it, the oldest runs go
first (the newest always stays, itself held to the budget by its `Timeline`). Runs are keyed
by whatever the caller names them with (the window's job ids).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from studio.engine.timeline import DEFAULT_BUDGET_BYTES, Timeline

RUNS_KEPT = 8


class RecentRuns:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES, limit: int = RUNS_KEPT) -> None:
        self.budget_bytes = budget_bytes
        self.limit = limit
        self._runs: OrderedDict[Hashable, Timeline] = OrderedDict()

    def start(self, key: Hashable) -> Timeline:
        """A new run's timeline (its steps are recorded into it as it runs)."""
        timeline = Timeline(self.budget_bytes)
        self._runs[key] = timeline
        self._runs.move_to_end(key)
        return timeline

    def finish(self, key: Hashable) -> None:
        """The run `key` ended: kept if it recorded steps, and older runs go while all of
        them are over the budget or the count."""
        if key in self._runs and not self._runs[key].steps:
            del self._runs[key]
        while len(self._runs) > 1 and (
            len(self._runs) > self.limit or self.nbytes > self.budget_bytes
        ):
            self._runs.popitem(last=False)

    def drop(self, key: Hashable) -> None:
        self._runs.pop(key, None)

    def get(self, key: Hashable) -> Timeline:
        try:
            return self._runs[key]
        except KeyError:
            raise KeyError("the steps of that run are no longer kept") from None

    def __contains__(self, key: Hashable) -> bool:
        return key in self._runs

    def keys(self) -> list[Hashable]:
        """Kept runs, oldest first."""
        return list(self._runs)

    @property
    def nbytes(self) -> int:
        return sum(timeline.nbytes for timeline in self._runs.values())
