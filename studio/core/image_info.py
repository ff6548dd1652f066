"""What an image says about how it was made, whichever app wrote it: the "PNG info" view.

Snail Studio and the AUTOMATIC1111 family (Forge, SD.Next, Fooocus, Krita AI Diffusion's
exports) write a `parameters` chunk; ComfyUI writes its API graph as a `prompt` chunk (and
the editor's graph as `workflow`); InvokeAI writes `invokeai_metadata`. Every setting found is
kept under the webui's names, including those the studio cannot use (a `Schedule type` its
samplers do not have), so the view shows all of it; `request` is what the studio can restore.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio.core.errors import ImageError
from studio.core.metadata import (
    PARAMETERS_CHUNK,
    STUDIO_CHUNK,
    a1111_sampler,
    parse_parameters,
    read_png_request,
    read_text_chunks,
    request_from_settings,
)
from studio.core.request import GenerationRequest

COMFYUI_CHUNK = "prompt"
INVOKEAI_CHUNK = "invokeai_metadata"
_SAMPLER_NODES = ("KSampler", "KSamplerAdvanced", "SamplerCustom")
_DEFAULT_SCHEDULES = ("", "automatic", "normal")  # the webui's and ComfyUI's "as the sampler"


@dataclass(frozen=True)
class ImageInfo:
    source: str  # the app that wrote the parameters, "" when there are none
    prompt: str
    negative_prompt: str
    settings: dict[str, str]
    chunks: dict[str, str]  # every text chunk as stored
    request: GenerationRequest | None  # what the studio can restore from it

    @property
    def model_hash(self) -> str:
        """AUTOMATIC1111's "Model hash" of the model the image was made with, "" if unknown."""
        return self.settings.get("Model hash", "")

    @property
    def notes(self) -> list[str]:
        """What a restore cannot keep."""
        schedule = self.settings.get("Schedule type", "")
        if self.request is None or schedule.lower() in _DEFAULT_SCHEDULES:
            return []
        kept = a1111_sampler(self.request.scheduler)[1] or ""
        if kept.lower() == schedule.lower():
            return []
        sampler = self.settings.get("Sampler", self.request.scheduler)
        return [
            f"schedule type {schedule} is not available with {sampler};"
            f" restored as {self.request.scheduler}"
        ]


def read_image_info(path: Path) -> ImageInfo:
    """The parameters in the image at `path`; raises ImageError when it cannot be read."""
    chunks = {key: str(value) for key, value in read_text_chunks(path).items()}
    source, prompt, negative, settings = _parameters(chunks)
    request = None
    if settings:
        try:
            request = (
                read_png_request(path)
                if source in ("Snail Studio", "AUTOMATIC1111-compatible")
                else request_from_settings(prompt, negative, settings)
            )
        except ImageError:
            request = None
    return ImageInfo(source, prompt, negative, settings, chunks, request)


def _parameters(chunks: dict[str, str]) -> tuple[str, str, str, dict[str, str]]:
    """(source, prompt, negative prompt, settings) from whichever chunk holds them."""
    text = chunks.get(PARAMETERS_CHUNK, "").strip()
    if text:
        prompt, negative, settings = parse_parameters(text)
        if STUDIO_CHUNK in chunks:
            source = "Snail Studio"
        elif text.startswith("{") or "fooocus" in settings.get("Version", "").lower():
            source = "Fooocus"
        else:
            source = "AUTOMATIC1111-compatible"
        return source, prompt, negative, settings
    invoke = _json(chunks.get(INVOKEAI_CHUNK, ""))
    if invoke is not None:
        model = invoke.get("model")
        if isinstance(model, dict):  # InvokeAI names the model in a record
            invoke["model"] = model.get("name") or model.get("model_name") or ""
        if "scheduler" in invoke:  # InvokeAI's scheduler is the sampler ("euler_a")
            invoke["sampler"] = invoke.pop("scheduler")
        prompt, negative, settings = parse_parameters(json.dumps(invoke))
        return "InvokeAI", prompt, negative, settings
    graph = _json(chunks.get(COMFYUI_CHUNK, ""))
    if graph is not None:
        return ("ComfyUI", *_comfyui_parameters(graph))
    return "", "", "", {}


def _comfyui_parameters(graph: dict[str, Any]) -> tuple[str, str, dict[str, str]]:
    """Read a ComfyUI API graph: the first sampler node and the nodes it is wired to."""
    nodes = {key: node for key, node in graph.items() if isinstance(node, dict)}
    sampler = next((n for n in nodes.values() if n.get("class_type") in _SAMPLER_NODES), None)
    if sampler is None:
        return "", "", {}
    inputs = sampler.get("inputs", {})

    def linked(value: object) -> dict[str, Any]:
        """The node an input is wired to (`[node id, output]`), else {}."""
        if isinstance(value, list) and value and str(value[0]) in nodes:
            return nodes[str(value[0])].get("inputs", {})
        return {}

    def text(value: object) -> str:
        found = linked(value).get("text", "")
        return found if isinstance(found, str) else ""

    settings: dict[str, str] = {}
    for name, key in (
        ("Steps", "steps"),
        ("Sampler", "sampler_name"),
        ("Schedule type", "scheduler"),
        ("CFG scale", "cfg"),
        ("Seed", "seed"),
        ("Seed", "noise_seed"),
        ("Denoising strength", "denoise"),
    ):
        value = inputs.get(key)
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            settings[name] = str(value)
    for node in nodes.values():
        node_inputs = node.get("inputs", {})
        kind = node.get("class_type", "")
        if kind.startswith("CheckpointLoader") and "ckpt_name" in node_inputs:
            settings["Model"] = str(node_inputs["ckpt_name"])
        elif kind == "EmptyLatentImage" and {"width", "height"} <= node_inputs.keys():
            settings["Size"] = f"{node_inputs['width']}x{node_inputs['height']}"
    return text(inputs.get("positive")), text(inputs.get("negative")), settings


def _json(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text) if text.strip().startswith("{") else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
