"""Generation on ComfyUI servers: one or many, through their HTTP and websocket API.

Plain Python (httpx, websockets, Pillow): no torch, no Qt. `ComfyBackend` follows
`studio.core.protocol.EngineProtocol`, so the CLI and the window use it like the local engine.
"""

from __future__ import annotations

from studio.remote.backend import ComfyBackend
from studio.remote.server import ServerConfig

__all__ = ["ComfyBackend", "ServerConfig"]
