"""One workflow on one server: submit it, follow its messages, cancel it, fetch its images."""

from __future__ import annotations

import io
import json
import queue
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from PIL import Image, UnidentifiedImageError

from studio.core.errors import GenerationCancelled, ServerError, ServerUnavailableError
from studio.remote.connection import Connection, Event
from studio.remote.workflows import SAVE_NODE

# (step, total, encoded preview or None), called on the job's thread
ProgressCallback = Callable[[int, int, bytes | None], None]

POLL_S = 0.1
CANCEL_WAIT_S = 5.0
AWAY_POLL_S = 1.0  # how often to ask over HTTP while the websocket is down


class StopFlag(Protocol):
    """A `threading.Event`, or anything else that says when to stop."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class JobOutput:
    image: Image.Image
    png_text: dict[str, str]


@dataclass
class JobLimits:
    """`lost_after`: seconds without the server (socket down, HTTP failing) before the job is
    given up there and may run elsewhere."""

    lost_after: float = 15.0


def run_workflow(
    connection: Connection,
    workflow: dict[str, Any],
    on_progress: ProgressCallback,
    cancel: StopFlag,
    limits: JobLimits | None = None,
    graph: dict[str, Any] | None = None,
) -> JobOutput:
    """Run `workflow` (with `graph`, its UI-format copy, if given) to its end on `connection`.
    Raises `ServerUnavailableError` (may run elsewhere), `ServerError` (failed on the server),
    or `GenerationCancelled`.

    The image's text is what the server wrote into the PNG; where it wrote no `prompt` or
    `workflow` (a server started with --disable-metadata), ours are added.
    """
    limits = limits or JobLimits()
    connection.ensure_connected()
    prompt_id = str(uuid.uuid4())
    events = connection.listen(prompt_id)
    try:
        connection.submit(workflow, prompt_id, graph)
        _follow(connection, prompt_id, events, on_progress, cancel, limits)
        output = _fetch(connection, prompt_id)
    finally:
        connection.unlisten(prompt_id)
    sent = {"prompt": json.dumps(workflow)}
    if graph is not None:
        sent["workflow"] = json.dumps(graph)
    return JobOutput(output.image, {**sent, **output.png_text})


def _follow(
    connection: Connection,
    prompt_id: str,
    events: queue.SimpleQueue[Event],
    on_progress: ProgressCallback,
    cancel: StopFlag,
    limits: JobLimits,
) -> None:
    steps = _StepPairing(on_progress)
    lost_since: float | None = None
    while True:
        if cancel.is_set():
            _cancel(connection, prompt_id, events)
        try:
            event = events.get(timeout=POLL_S)
        except queue.Empty:
            if connection.connected:
                continue
            lost_since = lost_since or time.monotonic()
            if _finished_while_away(connection, prompt_id, lost_since, limits):
                return
            connection.wait_connected(AWAY_POLL_S)
            continue
        if event.type == "connected":
            lost_since = None
            if _finished_while_away(connection, prompt_id, time.monotonic(), limits):
                return
        elif event.type == "preview" and event.preview is not None:
            steps.preview(event.preview)
        elif event.type == "progress":
            steps.progress(int(event.data["value"]), int(event.data["max"]))
        elif event.type == "execution_error":
            node = event.data.get("node_type", "a node")
            message = " ".join(str(event.data.get("exception_message", "")).split())
            raise ServerError(f"{connection.name}: {node} failed: {message}")
        elif event.type == "execution_interrupted":
            raise ServerUnavailableError(
                f"{connection.name}: the job was interrupted on the server"
            )
        elif event.type == "executing" and event.data.get("node") is None:
            steps.flush()
            return


class _StepPairing:
    """Pairs each step with its own preview frame, which the server sends right after the
    step's `progress` (a step whose frame never comes is reported without one)."""

    def __init__(self, on_progress: ProgressCallback) -> None:
        self.on_progress = on_progress
        self.waiting: tuple[int, int] | None = None

    def preview(self, frame: bytes) -> None:
        if self.waiting is not None:
            self.on_progress(*self.waiting, frame)
            self.waiting = None

    def progress(self, step: int, total: int) -> None:
        self.flush()
        self.waiting = (step, total)

    def flush(self) -> None:
        if self.waiting is not None:
            self.on_progress(*self.waiting, None)
            self.waiting = None


def _finished_while_away(
    connection: Connection, prompt_id: str, lost_since: float, limits: JobLimits
) -> bool:
    """Messages sent while the socket was down are lost: ask the server how the job went.
    True when it finished; raises when the server lost it or stayed away too long."""
    try:
        record = connection.history(prompt_id)
        if record is None and not connection.is_queued(prompt_id):
            raise ServerUnavailableError(f"{connection.name}: the server lost the job (restarted?)")
    except ServerUnavailableError:
        if time.monotonic() - lost_since >= limits.lost_after:
            raise ServerUnavailableError(
                f"{connection.name}: connection lost mid-job for {limits.lost_after:g} s"
            ) from None
        return False
    if record is None:
        return False
    status = record.get("status") or {}
    if status.get("status_str") == "error":
        raise ServerError(f"{connection.name}: the job failed on the server")
    return bool(status.get("completed"))


def _cancel(connection: Connection, prompt_id: str, events: queue.SimpleQueue[Event]) -> None:
    """Ask the server to drop or stop the job, wait briefly for it to stop, then give up."""
    try:
        connection.cancel(prompt_id)
        deadline = time.monotonic() + CANCEL_WAIT_S
        while time.monotonic() < deadline:
            try:
                event = events.get(timeout=POLL_S)
            except queue.Empty:
                if not connection.is_queued(prompt_id):
                    break
                continue
            if event.type == "executing" and event.data.get("node") is None:
                break
    except ServerUnavailableError:
        pass  # a server that is gone runs nothing
    raise GenerationCancelled()


def _fetch(connection: Connection, prompt_id: str) -> JobOutput:
    record = connection.history(prompt_id)
    if record is None:
        raise ServerError(f"{connection.name}: the job finished but has no record")
    status = record.get("status") or {}
    if status.get("status_str") == "error":
        raise ServerError(f"{connection.name}: the job failed on the server")
    images = ((record.get("outputs") or {}).get(SAVE_NODE) or {}).get("images") or []
    if not images:
        raise ServerError(f"{connection.name}: the job finished without an image")
    data = connection.view(images[0])
    try:
        with Image.open(io.BytesIO(data)) as decoded:
            decoded.load()
            text = {k: v for k, v in decoded.info.items() if isinstance(v, str)}
            image = decoded.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ServerError(
            f"{connection.name}: returned a broken image ({images[0].get('filename', '?')})"
        ) from None
    return JobOutput(image, text)
