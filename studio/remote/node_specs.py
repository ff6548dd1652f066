"""An input of a node's definition in `/object_info`, in either of ComfyUI's two schemas: the
old `[[choices...], {options}]` or `["INT", {options}]`, and the newer
`["COMBO", {"options": [choices...]}]`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def input_spec(spec: Any) -> tuple[Any, Mapping[str, Any]]:
    """(its type, or its list of choices; its options)."""
    if not isinstance(spec, list | tuple) or not spec:
        return spec, {}
    options = spec[1] if len(spec) > 1 and isinstance(spec[1], Mapping) else {}
    return spec[0], options


def choices(kind: Any, options: Mapping[str, Any]) -> list[Any]:
    """The values a choice input offers (none for other inputs)."""
    if isinstance(kind, list):
        return kind
    found = options.get("options") if kind == "COMBO" else None
    return found if isinstance(found, list) else []
