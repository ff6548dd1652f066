"""Background I/O for the UI: asyncio tasks on the qasync loop, blocking work in its executor.

File reads, thumbnail decoding and database queries go through `in_thread`, so the event loop
keeps painting while they run. `spawn` keeps a reference to each task until it ends (asyncio
only holds weak ones) and logs failures that nobody awaited.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

_running: set[asyncio.Task[Any]] = set()


def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """Run `coro` on the running loop (the app's qasync loop) without awaiting it."""
    task = asyncio.get_running_loop().create_task(coro)
    _running.add(task)
    task.add_done_callback(_finished)
    return task


async def in_thread(function: Callable[..., T], *args: Any) -> T:
    """Run blocking `function(*args)` in the loop's executor and await its result."""
    return await asyncio.get_running_loop().run_in_executor(None, function, *args)


def cancel_all() -> None:
    """Cancel every background task (the window is closing; results would have nowhere to go)."""
    for task in list(_running):
        task.cancel()


def pending() -> int:
    """Background tasks not yet finished (tests wait for zero)."""
    return len(_running)


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())
