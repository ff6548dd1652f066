"""Where a ComfyUI server is and how to talk to it; the token never shows in a name or repr."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from studio.core.errors import RequestError


@dataclass(frozen=True)
class ServerConfig:
    """One server: `url` like `http://host:8188` (https for TLS), an optional bearer token."""

    url: str
    token: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url.strip() if "://" in self.url else f"http://{self.url.strip()}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RequestError(
                f"not a server address: {self.name_of(self.url)!r}; use http://host:port"
            )
        path = parts.path.rstrip("/")
        object.__setattr__(self, "url", urlunsplit((parts.scheme, parts.netloc, path, "", "")))

    @property
    def name(self) -> str:
        """The address without credentials: safe for logs, errors and the window."""
        return self.name_of(self.url)

    @staticmethod
    def name_of(url: str) -> str:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host = parts.hostname or url.split("@")[-1]
        port = f":{parts.port}" if parts.port else ""
        return f"{host}{port}{parts.path.rstrip('/')}"

    @property
    def ws_url(self) -> str:
        scheme = "wss" if self.url.startswith("https:") else "ws"
        return f"{scheme}:{self.url.split(':', 1)[1]}/ws"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}
