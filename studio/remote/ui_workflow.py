"""The graph of an API-format workflow in ComfyUI's UI format (version 0.4), which its
frontend opens from a PNG's `workflow` chunk.

The API format names each input; the UI format keeps links in `inputs` slots and widget
values in a list by position. The positions come from each node's definition in the server's
`/object_info`: its inputs in `input_order` (required, then optional). An input of a data
type (MODEL, CLIP, LATENT, CONDITIONING...) is a slot; INT, FLOAT, STRING, BOOLEAN and lists
of choices are widgets. A widget fed by a link is a slot marked with its widget and keeps
its place among the values. Widgets the frontend adds of its own are kept in place too: the
value after a seed (`control_after_generate`: "fixed", so the graph makes the same image) and
the upload button after an image chooser's required inputs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from studio.remote.connection import Connection
from studio.remote.node_specs import choices, input_spec

log = logging.getLogger(__name__)

VERSION = 0.4
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
SEED_CONTROL = "fixed"
UPLOAD_BUTTON = "image"  # what the frontend stores for an image chooser's upload button
_COLUMN = 380  # px between columns, left to right by depth in the graph
_GAP = 40
_WIDTH = 320
_TITLE, _SLOT, _WIDGET = 30, 22, 26
_TALL = {"CLIPTextEncode": 160, "LoadImage": 320, "LoadImageMask": 320, "SaveImage": 300}

NodeDefinitions = Mapping[str, Mapping[str, Any]]


def ui_workflow(api: Mapping[str, Mapping[str, Any]], definitions: NodeDefinitions) -> dict:
    """The UI-format graph of `api`; node ids are the API's (which are numbers).
    Raises `KeyError` when a node's class has no definition."""
    ids = sorted(api, key=int)
    shapes = {n: _Shape(api[n], definitions[api[n]["class_type"]]) for n in ids}
    links: list[list[Any]] = []
    outputs: dict[str, list[dict[str, Any]]] = {n: shapes[n].outputs() for n in ids}
    for node_id in ids:
        for slot, (name, _) in enumerate(shapes[node_id].slots):
            source = api[node_id]["inputs"].get(name)
            if not _is_link(source):
                continue
            link_id = len(links) + 1
            source_id, source_slot = str(source[0]), int(source[1])
            link_type = outputs[source_id][source_slot]["type"]
            links.append([link_id, int(source_id), source_slot, int(node_id), slot, link_type])
            shapes[node_id].links[name] = link_id
            targets = outputs[source_id][source_slot].setdefault("links", [])
            targets.append(link_id)
    depths = _depths(api, ids)
    ranked = sorted(ids, key=lambda n: (depths[n], int(n)))  # sources before what they feed
    positions = _layout(ranked, depths, shapes)
    nodes = [
        {
            "id": int(node_id),
            "type": api[node_id]["class_type"],
            "pos": positions[node_id],
            "size": shapes[node_id].size(),
            "flags": {},
            "order": ranked.index(node_id),
            "mode": 0,
            "inputs": shapes[node_id].inputs(),
            "outputs": [{"links": None, **o} for o in outputs[node_id]],
            "properties": {"Node name for S&R": api[node_id]["class_type"]},
            "widgets_values": shapes[node_id].widgets,
        }
        for node_id in ids
    ]
    return {
        "last_node_id": max((int(n) for n in ids), default=0),
        "last_link_id": len(links),
        "nodes": nodes,
        "links": links,
        "groups": [],
        "config": {},
        "extra": {"ds": {"scale": 1.0, "offset": [0, 0]}},
        "version": VERSION,
    }


class _Shape:
    """One node's slots (linkable inputs, in order), widget values and outputs."""

    def __init__(self, node: Mapping[str, Any], definition: Mapping[str, Any]) -> None:
        self.class_type = node["class_type"]
        self.definition = definition
        self.slots: list[tuple[str, Any]] = []
        self.linked_widgets: set[str] = set()
        self.widgets: list[Any] = []
        self.links: dict[str, int] = {}
        values = node["inputs"]
        for group in ("required", "optional"):
            specs = definition.get("input", {}).get(group) or {}
            order = (definition.get("input_order") or {}).get(group) or list(specs)
            for name in order:
                kind, options = input_spec(specs[name])
                value = values.get(name, _default(kind, options))
                slot_type = "COMBO" if isinstance(kind, list) else kind
                if not _is_widget(kind, options):
                    self.slots.append((name, slot_type))
                    continue
                if _is_link(value):
                    self.slots.append((name, slot_type))
                    self.linked_widgets.add(name)
                    value = _default(kind, options)
                self.widgets.append(value)
                if options.get("control_after_generate"):
                    self.widgets.append(SEED_CONTROL)
            uploads = any(input_spec(spec)[1].get("image_upload") for spec in specs.values())
            if group == "required" and uploads:
                self.widgets.append(UPLOAD_BUTTON)

    def inputs(self) -> list[dict[str, Any]]:
        slots = []
        for name, kind in self.slots:
            slot: dict[str, Any] = {"name": name, "type": kind, "link": self.links.get(name)}
            if name in self.linked_widgets:
                slot["widget"] = {"name": name}
            slots.append(slot)
        return slots

    def outputs(self) -> list[dict[str, Any]]:
        types = self.definition.get("output") or []
        names = self.definition.get("output_name") or types
        return [
            {
                "name": str(name),
                "type": "COMBO" if isinstance(kind, list) else kind,
                "slot_index": i,
            }
            for i, (name, kind) in enumerate(zip(names, types, strict=False))
        ]

    def size(self) -> list[int]:
        slots = max(len(self.slots), len(self.definition.get("output") or []))
        height = _TITLE + _SLOT * slots + _WIDGET * len(self.widgets)
        return [_WIDTH, max(height, _TALL.get(self.class_type, 0))]


def _is_widget(kind: Any, options: Mapping[str, Any]) -> bool:
    if options.get("forceInput"):
        return False
    return isinstance(kind, list) or kind in WIDGET_TYPES


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int)


def _default(kind: Any, options: Mapping[str, Any]) -> Any:
    if "default" in options:
        return options["default"]
    offered = choices(kind, options)
    return offered[0] if offered else None


def _sources(node: Mapping[str, Any]) -> list[str]:
    return [str(v[0]) for v in node["inputs"].values() if _is_link(v)]


def _depths(api: Mapping[str, Mapping[str, Any]], ids: list[str]) -> dict[str, int]:
    """Each node's column: one right of its deepest source (loaders at 0)."""
    depths: dict[str, int] = {}

    def depth(node_id: str) -> int:
        if node_id not in depths:
            depths[node_id] = 0  # a cycle (not a valid workflow) stops here
            depths[node_id] = 1 + max((depth(s) for s in _sources(api[node_id])), default=-1)
        return depths[node_id]

    for node_id in ids:
        depth(node_id)
    return depths


def _layout(
    ranked: list[str], depths: Mapping[str, int], shapes: Mapping[str, _Shape]
) -> dict[str, list[int]]:
    """Columns by depth, left to right; nodes stacked top to bottom within a column."""
    tops: dict[int, int] = {}
    positions = {}
    for node_id in ranked:
        column = depths[node_id]
        top = tops.get(column, 0)
        positions[node_id] = [column * _COLUMN, top]
        tops[column] = top + shapes[node_id].size()[1] + _GAP
    return positions


class NodeDefinitionCache:
    """Node definitions per server, asked for once each (`/object_info/<class>`)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], Mapping[str, Any]] = {}
        self._lock = threading.Lock()

    def ui_workflow(
        self, connection: Connection, api: Mapping[str, Mapping[str, Any]]
    ) -> dict | None:
        """The UI-format graph of `api` for `connection`'s server, or None (with a warning)
        when the server does not define one of its nodes: it will then refuse the workflow
        itself, with its own reason."""
        definitions = {}
        for class_type in {node["class_type"] for node in api.values()}:
            definition = self._definition(connection, class_type)
            if definition is None:
                log.warning(
                    "%s: no definition of %s; no graph in the PNG", connection.name, class_type
                )
                return None
            definitions[class_type] = definition
        return ui_workflow(api, definitions)

    def _definition(self, connection: Connection, class_type: str) -> Mapping[str, Any] | None:
        key = (connection.name, class_type)
        with self._lock:
            if key in self._known:
                return self._known[key]
        definition = connection.get_json(f"/object_info/{class_type}").get(class_type)
        if isinstance(definition, Mapping):
            with self._lock:
                self._known[key] = definition
            return definition
        return None
