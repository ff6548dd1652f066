"""One ComfyUI server: its HTTP routes, and a websocket kept open (and reopened) in a thread.

Websocket messages are routed to the job that listens for their `prompt_id`. Every job also
hears `connected` and `disconnected`, so it can look for what it missed while the socket was
down. Nothing here logs a header or the token.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from studio.core.errors import ServerError, ServerUnavailableError
from studio.remote.frames import parse_frame
from studio.remote.server import ServerConfig

log = logging.getLogger(__name__)

RECONNECT_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
_MAX_DETAIL = 300


@dataclass(frozen=True)
class Event:
    """`type` is a ComfyUI message type, `preview`, `connected` or `disconnected`."""

    type: str
    data: dict[str, Any]
    preview: bytes | None = None


class Connection:
    def __init__(self, server: ServerConfig, timeout: float = 10.0) -> None:
        self.server = server
        self.timeout = timeout
        self.client_id = uuid.uuid4().hex
        self._http = httpx.Client(base_url=server.url, headers=server.headers, timeout=timeout)
        self._listeners: dict[str, queue.SimpleQueue[Event]] = {}
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._socket: ClientConnection | None = None
        self._running: str | None = None  # the prompt whose legacy previews carry no id
        self.last_error = ""
        self._failures = 0  # connection attempts that failed, ever

    @property
    def name(self) -> str:
        return self.server.name

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # -- websocket -----------------------------------------------------------------------

    def ensure_connected(self) -> None:
        """Start the websocket thread once; raise `ServerUnavailableError` if it cannot connect."""
        failures = self._failures
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._closing.clear()
                self._thread = threading.Thread(
                    target=self._listen, name=f"comfyui {self.name}", daemon=True
                )
                self._thread.start()
        deadline = time.monotonic() + self.timeout
        # A refused connection fails the next attempt at once: no need to wait the timeout.
        while not self._connected.wait(0.05):
            if self._failures > failures or time.monotonic() >= deadline:
                reason = self.last_error or f"no answer within {self.timeout:g} s"
                raise ServerUnavailableError(f"{self.name}: cannot connect ({reason})")

    def close(self) -> None:
        self._closing.set()
        socket = self._socket
        if socket is not None:
            socket.close()
        if self._thread is not None:
            self._thread.join(self.timeout)
        self._http.close()

    def listen(self, prompt_id: str) -> queue.SimpleQueue[Event]:
        events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        with self._lock:
            self._listeners[prompt_id] = events
        return events

    def unlisten(self, prompt_id: str) -> None:
        with self._lock:
            self._listeners.pop(prompt_id, None)

    def _listen(self) -> None:
        attempt = 0
        url = f"{self.server.ws_url}?clientId={self.client_id}"
        while not self._closing.is_set():
            try:
                with connect(
                    url,
                    additional_headers=self.server.headers,
                    open_timeout=self.timeout,
                    max_size=None,
                    logger=_WITHOUT_SECRETS,
                ) as socket:
                    # No `feature_flags`: with preview metadata (type 4 frames) the server ran
                    # our jobs measurably slower (tests/benchmarks/remote_overhead.py). Legacy
                    # frames carry no prompt id; one job per connection at a time makes the
                    # running prompt theirs.
                    self._socket = socket
                    attempt = 0
                    self.last_error = ""
                    self._connected.set()
                    self._broadcast(Event("connected", {}))
                    for message in socket:
                        self._dispatch(message)
            except (OSError, TimeoutError, WebSocketException) as exc:
                self.last_error = _reason(exc)
                self._failures += 1
            self._socket = None
            if self._connected.is_set():
                self._connected.clear()
                if not self._closing.is_set():
                    log.warning("%s: websocket closed; reconnecting", self.name)
                self._broadcast(Event("disconnected", {}))
            self._closing.wait(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
            attempt += 1

    def _dispatch(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            frame = parse_frame(message)
            if frame is not None:
                self._send_to(self._running, Event("preview", {}, frame))
            return
        try:
            payload = json.loads(message)
            kind, data = payload["type"], payload.get("data") or {}
        except (ValueError, KeyError, TypeError):
            return
        prompt_id = data.get("prompt_id") if isinstance(data, dict) else None
        if kind == "execution_start":
            self._running = prompt_id
        elif kind == "executing" and prompt_id is None:
            prompt_id = self._running  # after a reconnect: the current node, without an id
        elif kind == "executing" and data.get("node") is None and prompt_id == self._running:
            self._running = None
        self._send_to(prompt_id, Event(kind, data))

    def _send_to(self, prompt_id: str | None, event: Event) -> None:
        with self._lock:
            events = self._listeners.get(prompt_id) if prompt_id else None
        if events is not None:
            events.put(event)

    def _broadcast(self, event: Event) -> None:
        with self._lock:
            listeners = list(self._listeners.values())
        for events in listeners:
            events.put(event)

    # -- HTTP ----------------------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One HTTP call; connection trouble and refusals become `ServerUnavailableError`."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise ServerUnavailableError(
                f"{self.name}: no answer to {path} within {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise ServerUnavailableError(f"{self.name}: cannot connect ({_reason(exc)})") from None
        if response.status_code in (401, 403):
            raise ServerUnavailableError(
                f"{self.name}: refused ({response.status_code}); check the server's token"
            )
        if response.status_code >= 500:
            raise ServerUnavailableError(
                f"{self.name}: server error {response.status_code} on {path}"
            )
        return response

    def get_json(self, path: str, **params: Any) -> Any:
        response = self.request("GET", path, params=params or None)
        if response.status_code != 200:
            raise ServerError(f"{self.name}: {path} answered {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise ServerError(f"{self.name}: {path} answered something that is not JSON") from None

    def submit(
        self, workflow: dict[str, Any], prompt_id: str, graph: dict[str, Any] | None = None
    ) -> None:
        """Queue `workflow`; `graph`, its UI-format copy, goes to `extra_pnginfo`, which
        SaveImage writes into the PNG as the `workflow` chunk."""
        body: dict[str, Any] = {
            "prompt": workflow,
            "client_id": self.client_id,
            "prompt_id": prompt_id,
        }
        if graph is not None:
            body["extra_data"] = {"extra_pnginfo": {"workflow": graph}}
        response = self.request("POST", "/prompt", json=body)
        if response.status_code == 200:
            return
        raise ServerError(f"{self.name} rejected the workflow: {_rejection(response)}")

    def upload_image(self, name: str, png: bytes) -> str:
        """Upload into the server's input folder; returns the name the server gave it."""
        response = self.request(
            "POST",
            "/upload/image",
            files={"image": (name, png, "image/png")},
            data={"type": "input", "overwrite": "true"},
        )
        if response.status_code != 200:
            raise ServerError(f"{self.name}: upload of {name} answered {response.status_code}")
        info = response.json()
        return f"{info['subfolder']}/{info['name']}" if info.get("subfolder") else info["name"]

    def cancel(self, prompt_id: str) -> None:
        """Drop the prompt from the queue if it has not started, and interrupt it if it has."""
        self.request("POST", "/queue", json={"delete": [prompt_id]})
        self.request("POST", "/interrupt", json={"prompt_id": prompt_id})

    def is_queued(self, prompt_id: str) -> bool:
        state = self.get_json("/queue")
        items = [*state.get("queue_running", []), *state.get("queue_pending", [])]
        return any(len(item) > 1 and item[1] == prompt_id for item in items)

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The finished prompt's record, or None while it has not finished."""
        return self.get_json(f"/history/{prompt_id}").get(prompt_id)

    def view(self, image: dict[str, Any]) -> bytes:
        params = {k: image.get(k, "") for k in ("filename", "subfolder", "type")}
        response = self.request("GET", "/view", params=params)
        if response.status_code != 200:
            raise ServerError(
                f"{self.name}: image {params['filename']} answered {response.status_code}"
            )
        return response.content

    def wait_connected(self, seconds: float) -> bool:
        return self._connected.wait(seconds)


class _SecretHiding(logging.LoggerAdapter):
    """websockets logs the handshake's headers at debug level: never the Authorization one."""

    def log(self, level: int, msg: object, *args: object, **kwargs: object) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        if "authorization:" in text.lower():
            text = text[: text.lower().index("authorization:")] + "Authorization: (hidden)"
        self.logger.log(level, text, **kwargs)


_WITHOUT_SECRETS = _SecretHiding(logging.getLogger("studio.remote.websocket"))


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:_MAX_DETAIL]


def _rejection(response: httpx.Response) -> str:
    """ComfyUI's validation error as one line: the message, then the first node's first error."""
    try:
        body = response.json()
        error = body.get("error") or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
        for node in (body.get("node_errors") or {}).values():
            for item in node.get("errors", []):
                detail = item.get("details") or item.get("message", "")
                message = f"{message}: {node.get('class_type', '?')} {detail}"
                break
            break
    except (ValueError, AttributeError):
        message = f"HTTP {response.status_code}"
    return " ".join(str(message or f"HTTP {response.status_code}").split())[:_MAX_DETAIL]
