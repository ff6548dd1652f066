"""An in-process fake ComfyUI 0.3.75 server on 127.0.0.1 (aiohttp, a random port).

It speaks what `../shared/comfyui/PROTOCOL.md` recorded from the real one: the same routes, the
same JSON messages in the same order, a binary preview frame (type 1, JPEG) after each step's
`progress` (what a client without `feature_flags` gets), validation errors as HTTP 400,
runtime errors and interrupts on the websocket, `executing node=null` last. It knows the stock
nodes the client uses (`comfy_nodes.py`), checks a workflow against them as the real server
does (node classes, required inputs, link types, choices), and writes `extra_pnginfo` into
the PNG as SaveImage does. Tests script the bad conditions.
"""

from __future__ import annotations

import asyncio
import io
import json
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from PIL import Image, PngImagePlugin

from tests.remote.comfy_nodes import definitions

SAMPLER_NODE = "3"


@dataclass
class Scenario:
    """What goes wrong, set by a test before or during a run."""

    step_delay: float = 0.01
    runtime_error: bool = False
    broken_image: bool = False
    no_metadata: bool = False  # as a server started with --disable-metadata
    http_delay: float = 0.0
    token: str = ""  # when set, requests without `Bearer <token>` get 401
    unknown_nodes: set[str] = field(default_factory=set)
    invalid_models: set[str] = field(default_factory=set)  # listed, yet refused by validation
    close_sockets_at_step: int | None = None  # the socket drops; the server carries on
    die_at_step: int | None = None  # the whole server goes away mid-job
    hold_at_step: int | None = None  # wait there until `release` is set
    release: threading.Event = field(default_factory=threading.Event)


class FakeComfy:
    def __init__(self, checkpoints: tuple[str, ...] = ("sd15.safetensors",)) -> None:
        self.checkpoints = list(checkpoints)
        self.diffusion_models = ["flux1-dev.safetensors"]
        self.text_encoders: list[str] = []
        self.vaes = ["ae.safetensors"]
        self.scenario = Scenario()
        self.prompts: list[dict[str, Any]] = []  # bodies of accepted POST /prompt
        self.uploads: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self.interrupts: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.started: list[str] = []
        self._history: dict[str, dict[str, Any]] = {}
        self._outputs: dict[str, bytes] = {}
        self._pending: list[tuple[int, str, dict[str, Any], str]] = []
        self._running: str | None = None
        self._running_client = ""
        self._interrupted: set[str] = set()
        self._sockets: dict[str, list[web.WebSocketResponse]] = {}
        self._number = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._wake: asyncio.Event | None = None
        self.port = 0

    # -- life -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeComfy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._auth])
        app.add_routes(
            [
                web.get("/ws", self._ws),
                web.get("/system_stats", self._system_stats),
                web.get("/object_info/{node}", self._object_info),
                web.post("/prompt", self._prompt),
                web.get("/queue", self._queue),
                web.post("/queue", self._queue_delete),
                web.post("/interrupt", self._interrupt),
                web.get("/history/{prompt_id}", self._history_route),
                web.get("/view", self._view),
                web.post("/upload/image", self._upload),
            ]
        )
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await self._site.start()
        self.port = self._site._server.sockets[0].getsockname()[1]
        self._wake = asyncio.Event()
        self._worker = asyncio.ensure_future(self._work())

    async def _stop(self) -> None:
        self._worker.cancel()
        for sockets in list(self._sockets.values()):
            for socket in list(sockets):
                await socket.close()
        await self._runner.cleanup()

    # -- HTTP -------------------------------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler):
        self.headers.append(dict(request.headers))
        if self.scenario.http_delay:
            await asyncio.sleep(self.scenario.http_delay)
        token = self.scenario.token
        if token and request.headers.get("Authorization") != f"Bearer {token}":
            return web.Response(status=401, text="401: Unauthorized")
        return await handler(request)

    async def _system_stats(self, request: web.Request) -> web.Response:
        return web.json_response({"system": {"comfyui_version": "0.3.75"}, "devices": []})

    def nodes(self) -> dict[str, dict[str, Any]]:
        return definitions(
            self.checkpoints,
            self.diffusion_models,
            self.text_encoders,
            self.vaes,
            [],
            sorted(self.uploads),
        )

    async def _object_info(self, request: web.Request) -> web.Response:
        node = request.match_info["node"]
        known = self.nodes()
        return web.json_response({node: known[node]} if node in known else {})

    async def _prompt(self, request: web.Request) -> web.Response:
        body = await request.json()
        prompt = body.get("prompt")
        if not prompt:
            return _error("no_prompt", "No prompt provided")
        refusal = self._validate(prompt)
        if refusal is not None:
            return refusal
        prompt_id = body.get("prompt_id") or str(uuid.uuid4())
        self._number += 1
        self.prompts.append(body)
        extra = body.get("extra_data") or {}
        self._pending.append((self._number, prompt_id, prompt, body.get("client_id", ""), extra))
        await self._status()
        self._wake.set()
        return web.json_response(
            {"prompt_id": prompt_id, "number": self._number, "node_errors": {}}
        )

    def _validate(self, prompt: dict[str, Any]) -> web.Response | None:
        """What ComfyUI's validate_prompt refuses: unknown nodes (400 invalid_prompt), then
        per node a missing required input, a link of the wrong type, a value not among the
        choices (400 prompt_outputs_failed_validation)."""
        known = self.nodes()
        for node_id, node in prompt.items():
            if node["class_type"] not in known or node["class_type"] in (
                self.scenario.unknown_nodes
            ):
                return _error(
                    "invalid_prompt",
                    f"Cannot execute because node {node['class_type']} does not exist.",
                    f"Node ID '#{node_id}'",
                )
        for node_id, node in prompt.items():
            definition = known[node["class_type"]]["input"]
            specs = {**definition.get("optional", {}), **definition["required"]}
            for name in definition["required"]:
                if name not in node["inputs"]:
                    return _invalid(node_id, node, "required_input_missing", name, name)
            for name, value in node["inputs"].items():
                kind, options = specs[name][0], (specs[name][1:] or [{}])[0]
                choices = options.get("options") if kind == "COMBO" else kind
                if isinstance(value, list):
                    source = prompt.get(str(value[0]))
                    outputs = known[source["class_type"]]["output"] if source else []
                    given = outputs[value[1]] if value[1] < len(outputs) else None
                    if given != kind:
                        detail = f"{name}, received_type({given}) mismatch input_type({kind})"
                        return _invalid(node_id, node, "return_type_mismatch", detail, name)
                elif isinstance(choices, list) and (
                    value not in choices or value in self.scenario.invalid_models
                ):
                    detail = f"{name}: '{value}' not in {choices}"
                    return _invalid(node_id, node, "value_not_in_list", detail, name)
        return None

    async def _queue(self, request: web.Request) -> web.Response:
        running = [[0, self._running, {}, {}, ["9"]]] if self._running else []
        pending = [[n, p, w, {**e, "client_id": c}, ["9"]] for n, p, w, c, e in self._pending]
        return web.json_response({"queue_running": running, "queue_pending": pending})

    async def _queue_delete(self, request: web.Request) -> web.Response:
        ids = (await request.json()).get("delete", [])
        self.deleted.extend(ids)
        self._pending = [item for item in self._pending if item[1] not in ids]
        await self._status()
        return web.Response()

    async def _interrupt(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        self.interrupts.append(body)
        target = body.get("prompt_id")
        if self._running and target in (None, self._running):
            self._interrupted.add(self._running)
        return web.Response()

    async def _history_route(self, request: web.Request) -> web.Response:
        prompt_id = request.match_info["prompt_id"]
        record = self._history.get(prompt_id)
        return web.json_response({prompt_id: record} if record else {})

    async def _view(self, request: web.Request) -> web.Response:
        data = self._outputs.get(request.query["filename"])
        if data is None:
            return web.Response(status=404)
        if self.scenario.broken_image:
            data = data[:40]
        return web.Response(body=data, content_type="image/png")

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["image"]
        self.uploads[upload.filename] = upload.file.read()
        return web.json_response({"name": upload.filename, "subfolder": "", "type": "input"})

    # -- websocket --------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(max_msg_size=0)
        await socket.prepare(request)
        client_id = request.query.get("clientId") or uuid.uuid4().hex
        queue_remaining = len(self._pending) + bool(self._running)
        status = {"status": {"exec_info": {"queue_remaining": queue_remaining}}, "sid": client_id}
        await socket.send_str(json.dumps({"type": "status", "data": status}))
        self._sockets.setdefault(client_id, []).append(socket)
        if self._running and self._running_client == client_id:
            await socket.send_str(json.dumps({"type": "executing", "data": {"node": "3"}}))
        async for _ in socket:  # what a client sends is not needed here
            pass
        self._sockets[client_id].remove(socket)
        return socket

    async def _send(self, client_id: str, kind: str, data: dict[str, Any]) -> None:
        text = json.dumps({"type": kind, "data": data})
        for socket in list(self._sockets.get(client_id, [])):
            await socket.send_str(text)

    async def _status(self) -> None:
        remaining = len(self._pending) + bool(self._running)
        data = {"status": {"exec_info": {"queue_remaining": remaining}}}
        for client_id in list(self._sockets):
            await self._send(client_id, "status", data)

    async def _drop_sockets(self) -> None:
        for sockets in list(self._sockets.values()):
            for socket in list(sockets):
                await socket.close()

    # -- execution --------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                _, prompt_id, prompt, client_id, extra = self._pending.pop(0)
                self._running, self._running_client = prompt_id, client_id
                self.started.append(prompt_id)
                try:
                    await self._execute(prompt_id, prompt, client_id, extra)
                finally:
                    self._running = None
                if self._runner.server is None:
                    return

    async def _execute(
        self, prompt_id: str, prompt: dict[str, Any], client_id: str, extra: dict[str, Any]
    ) -> None:
        p = {"prompt_id": prompt_id}
        await self._status()
        await self._send(client_id, "execution_start", {**p, "timestamp": _ms()})
        await self._send(client_id, "execution_cached", {"nodes": [], **p, "timestamp": _ms()})
        for node in ("4", "7", "6", "5"):
            if node in prompt:
                await self._send(client_id, "executing", {"node": node, "display_node": node, **p})
        sampler = prompt[SAMPLER_NODE]["inputs"]
        steps = sampler["steps"]
        await self._send(client_id, "executing", {"node": "3", "display_node": "3", **p})
        for step in range(1, steps + 1):
            await asyncio.sleep(self.scenario.step_delay)
            if await self._trouble_at(step, prompt_id):
                return
            if prompt_id in self._interrupted:
                return await self._end_interrupted(prompt_id, client_id)
            if self.scenario.runtime_error:
                return await self._end_error(prompt_id, client_id)
            await self._send_step(prompt_id, client_id, step, steps)
        await self._finish(prompt_id, prompt, client_id, extra)

    async def _trouble_at(self, step: int, prompt_id: str) -> bool:
        scenario = self.scenario
        if scenario.hold_at_step == step:
            while not scenario.release.is_set() and prompt_id not in self._interrupted:
                await asyncio.sleep(0.01)
        if scenario.close_sockets_at_step == step:
            scenario.close_sockets_at_step = None
            await self._drop_sockets()
        if scenario.die_at_step == step:
            await self._drop_sockets()
            await self._runner.cleanup()
            return True
        return False

    async def _send_step(self, prompt_id: str, client_id: str, step: int, steps: int) -> None:
        node = {
            "value": step,
            "max": steps,
            "state": "running",
            "node_id": "3",
            "prompt_id": prompt_id,
            "display_node_id": "3",
            "parent_node_id": None,
            "real_node_id": "3",
        }
        await self._send(
            client_id, "progress_state", {"prompt_id": prompt_id, "nodes": {"3": node}}
        )
        progress = {"value": step, "max": steps, "prompt_id": prompt_id, "node": "3"}
        jpeg = _jpeg((step * 40) % 256)
        for socket in list(self._sockets.get(client_id, [])):
            await socket.send_str(json.dumps({"type": "progress", "data": progress}))
            await socket.send_bytes(struct.pack(">II", 1, 1) + jpeg)

    def _output_size(self, prompt: dict[str, Any]) -> tuple[int, int]:
        """The latent's size: the empty latent's, or the uploaded input image's (LoadImage)."""
        loaded = prompt.get("10", {}).get("inputs", {}).get("image")
        if loaded in self.uploads:
            return Image.open(io.BytesIO(self.uploads[loaded])).size
        inputs = prompt.get("5", {}).get("inputs", {})
        return inputs.get("width", 64), inputs.get("height", 64)

    async def _finish(
        self, prompt_id: str, prompt: dict[str, Any], client_id: str, extra: dict[str, Any]
    ) -> None:
        p = {"prompt_id": prompt_id}
        for node in ("8", "9"):
            await self._send(client_id, "executing", {"node": node, "display_node": node, **p})
        filename = f"snail-studio_{len(self._outputs) + 1:05d}_.png"
        metadata = not self.scenario.no_metadata
        self._outputs[filename] = _output_png(
            prompt, extra.get("extra_pnginfo"), metadata, self._output_size(prompt)
        )
        images = [{"filename": filename, "subfolder": "", "type": "output"}]
        await self._send(
            client_id,
            "executed",
            {"node": "9", "display_node": "9", "output": {"images": images}, **p},
        )
        self._history[prompt_id] = {
            "prompt": [0, prompt_id, prompt, {**extra, "client_id": client_id}, ["9"]],
            "outputs": {"9": {"images": images}},
            "status": {"status_str": "success", "completed": True, "messages": []},
        }
        await self._send(client_id, "execution_success", {**p, "timestamp": _ms()})
        await self._end(prompt_id, client_id)

    async def _end_interrupted(self, prompt_id: str, client_id: str) -> None:
        data = {
            "prompt_id": prompt_id,
            "node_id": "3",
            "node_type": "KSampler",
            "executed": [],
            "timestamp": _ms(),
        }
        for cid in list(self._sockets):  # always broadcast
            await self._send(cid, "execution_interrupted", data)
        self._failed(prompt_id)
        await self._end(prompt_id, client_id)

    async def _end_error(self, prompt_id: str, client_id: str) -> None:
        message = "Input and output sizes should be greater than 0\n"
        data = {
            "prompt_id": prompt_id,
            "node_id": "3",
            "node_type": "KSampler",
            "executed": [],
            "exception_message": message,
            "exception_type": "RuntimeError",
            "traceback": ["  File ..."],
            "current_inputs": {},
            "current_outputs": [],
            "timestamp": _ms(),
        }
        await self._send(client_id, "execution_error", data)
        self._failed(prompt_id)
        await self._end(prompt_id, client_id)

    def _failed(self, prompt_id: str) -> None:
        self._history[prompt_id] = {
            "outputs": {},
            "status": {"status_str": "error", "completed": False, "messages": []},
        }

    async def _end(self, prompt_id: str, client_id: str) -> None:
        self._running = None
        await self._status()
        await self._send(client_id, "executing", {"node": None, "prompt_id": prompt_id})


def _error(kind: str, message: str, details: str = "") -> web.Response:
    error = {"type": kind, "message": message, "details": details, "extra_info": {}}
    return web.json_response({"error": error, "node_errors": {}}, status=400)


def _invalid(
    node_id: str, node: dict[str, Any], kind: str, details: str, name: str
) -> web.Response:
    messages = {
        "required_input_missing": "Required input is missing",
        "return_type_mismatch": "Return type mismatch between linked nodes",
        "value_not_in_list": "Value not in list",
    }
    error = {
        "type": kind,
        "message": messages[kind],
        "details": details,
        "extra_info": {"input_name": name},
    }
    body = {
        "error": {
            "type": "prompt_outputs_failed_validation",
            "message": "Prompt outputs failed validation",
            "details": "",
            "extra_info": {},
        },
        "node_errors": {
            node_id: {
                "errors": [error],
                "dependent_outputs": ["9"],
                "class_type": node["class_type"],
            }
        },
    }
    return web.json_response(body, status=400)


def _jpeg(value: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (512, 512), (value, 64, 255 - value)).save(out, format="JPEG")
    return out.getvalue()


def _output_png(
    prompt: dict[str, Any],
    extra_pnginfo: dict[str, Any] | None,
    metadata: bool,
    size: tuple[int, int],
) -> bytes:
    """What SaveImage writes: the image with the API prompt as a `prompt` text chunk and each
    `extra_pnginfo` entry (the UI `workflow`) as a JSON chunk of its own, unless metadata is
    off."""
    inputs = prompt[SAMPLER_NODE]["inputs"]
    info = PngImagePlugin.PngInfo()
    if metadata:
        info.add_text("prompt", json.dumps(prompt))
        for key, value in (extra_pnginfo or {}).items():
            info.add_text(key, json.dumps(value))
    out = io.BytesIO()
    Image.new("RGB", size, (inputs["seed"] % 256, 128, 0)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _ms() -> int:
    return int(time.time() * 1000)
