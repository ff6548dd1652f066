"""LoRAs in a request, the way AUTOMATIC1111's webui writes them: `<lora:name:weight>` tags
in the prompt and a `Lora hashes: "name: hash, ..."` setting in the image's parameters.

The webui (1.10, built-in Lora extension) reads the tags out of the prompt before the text
encoder sees it, and names each LoRA in `Lora hashes` with the first 12 hex digits of its
"addnet" hash: the SHA-256 of the safetensors file after its header (`safetensors_hash`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

# `<lora:name>` or `<lora:name:weight>`; the webui allows more positional fields after the
# weight (text-encoder/UNet split, dynamic rank): those are read past and not used.
_TAG = re.compile(r"<lora:([^:>]+)(?::([^:>]*))?(?::[^>]*)?>")
_HASH_PAIR = re.compile(r"\s*([^:,]+?)\s*:\s*([0-9a-fA-F]+)\s*(?:,|$)")
SHORT_HASH_DIGITS = 12


@dataclass(frozen=True)
class LoraRef:
    """One LoRA in a request: a file's name (its stem) and the weight it is applied with."""

    name: str
    weight: float = 1.0

    @property
    def tag(self) -> str:
        return f"<lora:{self.name}:{_weight(self.weight)}>"

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "weight": self.weight}


@dataclass(frozen=True)
class LoraInfo:
    """A LoRA file the engine found: `family_label` says what it was trained for ("SD 1.x");
    one that cannot be applied has `problem` saying why in one line."""

    name: str
    path: Path
    family_label: str
    problem: str | None = None

    @property
    def usable(self) -> bool:
        return self.problem is None


def lora_ref_from(value: object) -> LoraRef | None:
    """A `LoraRef` from its `to_dict` form (or a [name, weight] pair); None when malformed."""
    if isinstance(value, LoraRef):
        return value
    if isinstance(value, dict):
        name, weight = value.get("name"), value.get("weight", 1.0)
    elif isinstance(value, list | tuple) and len(value) == 2:
        name, weight = value
    else:
        return None
    if not isinstance(name, str) or not name.strip():
        return None
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        return None
    return LoraRef(name.strip(), float(weight))


def split_prompt_loras(prompt: str) -> tuple[str, tuple[LoraRef, ...]]:
    """The prompt without its `<lora:...>` tags (what the text encoder reads), and the tags.

    A tag without a weight, or with one that is not a number, means weight 1 (the webui's
    default multiplier)."""
    refs = tuple(LoraRef(match[1].strip(), _to_weight(match[2])) for match in _TAG.finditer(prompt))
    text = _TAG.sub("", prompt)
    return re.sub(r"[ \t]{2,}", " ", text).strip(), refs


def merged_loras(prompt: str, panel: Iterable[LoraRef]) -> tuple[LoraRef, ...]:
    """Every LoRA a request applies: the panel's, then the prompt's tags. A name in both
    takes the prompt's weight (the text the user typed is the more explicit), in the
    panel's place."""
    tagged = {ref.name: ref for ref in split_prompt_loras(prompt)[1]}
    result: dict[str, LoraRef] = {}
    for ref in panel:
        result[ref.name] = tagged.get(ref.name, ref)
    for name, ref in tagged.items():
        result.setdefault(name, ref)
    return tuple(result.values())


def prompt_with_loras(prompt: str, panel: Iterable[LoraRef]) -> str:
    """The prompt as the webui writes it: the panel's LoRAs that the prompt does not tag
    already are appended as tags, so other apps apply them too."""
    tagged = {ref.name for ref in split_prompt_loras(prompt)[1]}
    extra = "".join(ref.tag for ref in panel if ref.name not in tagged)
    return prompt + extra


def format_lora_hashes(hashes: Mapping[str, str]) -> str:
    """The `Lora hashes` value: `name: hash, ...`; names lose `:` and `,`, as the webui's do."""
    return ", ".join(
        f"{name.translate(str.maketrans('', '', ':,'))}: {digest}"
        for name, digest in hashes.items()
    )


def parse_lora_hashes(text: str) -> dict[str, str]:
    """`format_lora_hashes` read back; pairs that are not `name: hex` are skipped."""
    return {name: digest for name, digest in _HASH_PAIR.findall(text or "")}


def safetensors_hash(path: Path, block: int = 1 << 20) -> str:
    """The webui's LoRA short hash ("addnet hash", from Kohya's sd-scripts): SHA-256 of the
    file after its 8-byte length and JSON header, first 12 hex digits. Reads the whole
    file: call it off the UI thread."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as file:
        header_length = int.from_bytes(file.read(8), "little")
        file.seek(8 + header_length)
        while chunk := file.read(block):
            digest.update(chunk)
    return digest.hexdigest()[:SHORT_HASH_DIGITS]


def _to_weight(text: str | None) -> float:
    try:
        value = float(text) if text is not None else 1.0
    except ValueError:
        return 1.0
    return value if value == value and abs(value) != float("inf") else 1.0


def _weight(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"
