"""Generation parameters stored in images: AUTOMATIC1111's `parameters` text, both ways, and PNGs.

Most of the ecosystem (the A1111 webui and Forge, image browsers, model sites) reads one PNG text
chunk named `parameters`, so we write it exactly the way the webui 1.10's own reader expects it
(see "Image metadata convention" in platform-facts.md). That text is lossy: the reader strips
every prompt line, and a prompt line starting `Negative prompt:` would end the prompt. So each
PNG also carries a `snail_studio` chunk with the exact request as JSON, which we prefer on reading.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

from studio import __version__
from studio.core.errors import ImageError, RequestError
from studio.core.files import write_bytes_atomic
from studio.core.loras import format_lora_hashes, prompt_with_loras
from studio.core.request import DEFAULT_MODEL, DEFAULT_SCHEDULER, GenerationRequest, Mode
from studio.core.schedulers import SCHEDULER_NAMES

PARAMETERS_CHUNK = "parameters"
STUDIO_CHUNK = "snail_studio"
NEGATIVE_LABEL = "Negative prompt:"
NO_PARAMETERS = "no generation parameters found"

# How each of our scheduler names is written for the webui: (Sampler, Schedule type or None).
# The webui 1.10 runs "DPM++ 2M" with Karras sigmas when no schedule is given, so our plain
# DPM++ 2M names its (uniform) schedule; for the other samplers its default already matches.
# It has no DDPM: the name is kept, and the webui reads it as its default sampler.
_A1111_SAMPLER: dict[str, tuple[str, str | None]] = {
    "DDIM": ("DDIM", None),
    "DDPM": ("DDPM", None),
    "Euler": ("Euler", None),
    "Euler a": ("Euler a", None),
    "DPM++ 2M": ("DPM++ 2M", "Uniform"),
    "DPM++ 2M Karras": ("DPM++ 2M", "Karras"),
    "UniPC": ("UniPC", None),
    "LMS": ("LMS", None),
    "PNDM": ("PLMS", None),
}

# Sampler spellings seen in the wild, as tokens (see `_token`): webui labels and `k_` aliases,
# ComfyUI/Krita (`euler_ancestral`, `uni_pc`), InvokeAI (`euler_a`) and diffusers class names.
_SAMPLER_ALIASES: dict[str, str] = {
    "ddim": "DDIM",
    "ddimscheduler": "DDIM",
    "ddpm": "DDPM",
    "ddpmscheduler": "DDPM",
    "euler": "Euler",
    "eulerdiscretescheduler": "Euler",
    "euler_a": "Euler a",
    "euler_ancestral": "Euler a",
    "eulerancestraldiscretescheduler": "Euler a",
    "dpmpp_2m": "DPM++ 2M",
    "dpmsolvermultistepscheduler": "DPM++ 2M",
    "unipc": "UniPC",
    "uni_pc": "UniPC",
    "uni_pc_bh2": "UniPC",
    "unipcmultistepscheduler": "UniPC",
    "lms": "LMS",
    "lmsdiscretescheduler": "LMS",
    "plms": "PNDM",
    "pndm": "PNDM",
    "pndmscheduler": "PNDM",
}
# Schedules that may trail a sampler name ("DPM++ 2M Karras", ComfyUI's "euler normal",
# InvokeAI's "dpmpp_2m_k"); `k`/`ka` are the webui's old Karras aliases.
_SCHEDULE_SUFFIXES: dict[str, str] = {
    name: name
    for name in (
        "karras",
        "exponential",
        "polyexponential",
        "sgm_uniform",
        "kl_optimal",
        "align_your_steps",
        "simple",
        "normal",
        "ddim_uniform",
        "beta",
        "uniform",
        "automatic",
    )
} | {"ka": "karras", "k": "karras"}

# One `key: value` pair of the settings line, the grammar the webui's reader uses: a key of 2+
# word characters, spaces, `-` or `/`; a value either JSON-quoted or running to the next comma.
_PAIR = re.compile(r"""\s*(\w[\w /-]+):\s*("(?:[^"\\]|\\.)+"|[^,]*)(?:,|$)""")
_SIZE = re.compile(r"^\s*\(?\s*(\d+)\s*[x,]\s*(\d+)\s*\)?\s*$")
_MIN_SETTINGS = 3  # fewer pairs on the last line and readers take it for prompt text

# JSON keys (lowercased, spaces as `_`) that other tools use, mapped to the webui's names.
_JSON_KEYS: dict[str, str] = {
    "steps": "Steps",
    "sampler": "Sampler",
    "sampler_name": "Sampler",
    "scheduler": "Schedule type",
    "guidance_scale": "CFG scale",
    "cfg_scale": "CFG scale",
    "cfg": "CFG scale",
    "seed": "Seed",
    "resolution": "Size",
    "size": "Size",
    "base_model": "Model",
    "model": "Model",
    "base_model_hash": "Model hash",
    "model_hash": "Model hash",
    "denoising_strength": "Denoising strength",
    "strength": "Denoising strength",
    "mask_blur": "Mask blur",
    "mask_feather": "Mask blur",
}
_PROMPT_KEYS = ("prompt", "positive_prompt", "positive")
_NEGATIVE_KEYS = ("negative_prompt", "negative")


# --- scheduler names -------------------------------------------------------------------------


def a1111_sampler(scheduler: str) -> tuple[str, str | None]:
    """Our scheduler name as the webui's (Sampler, Schedule type); unknown names pass through."""
    return _A1111_SAMPLER.get(scheduler, (scheduler, None))


def normalize_scheduler(sampler: str | None, schedule: str | None = None) -> str:
    """Map a sampler name (and schedule) from any tool to one of SCHEDULER_NAMES.

    Unknown samplers give DEFAULT_SCHEDULER rather than an error: a foreign image's other
    parameters are still worth reusing.
    """
    if not sampler or not sampler.strip():
        return DEFAULT_SCHEDULER
    token = _token(sampler)
    schedule_token = _token(schedule or "")
    if token.startswith("k_"):  # the webui's old aliases: k_euler_a, k_dpmpp_2m_ka
        token = token[2:]
    for suffix, meaning in _SCHEDULE_SUFFIXES.items():
        head = token.removesuffix(f"_{suffix}")
        if head != token and head in _SAMPLER_ALIASES:
            token, schedule_token = head, meaning
            break
    name = _SAMPLER_ALIASES.get(token, DEFAULT_SCHEDULER)
    # The webui 1.10's "Automatic" for DPM++ 2M means Karras; a missing schedule (older
    # webui, which spelled Karras in the sampler name) means the plain one.
    if name == "DPM++ 2M" and schedule_token in ("karras", "automatic"):
        return "DPM++ 2M Karras"
    return name


def _token(name: str) -> str:
    lowered = name.strip().lower().replace("++", "pp")
    return re.sub(r"[^a-z0-9]+", "_", lowered).strip("_")


# --- writing ---------------------------------------------------------------------------------


def format_parameters(
    request: GenerationRequest,
    seed: int,
    model_name: str,
    model_hash: str | None = None,
    lora_hashes: dict[str, str] | None = None,
) -> str:
    """The webui's `parameters` text for one image of `request`, made with `seed`.

    The panel's LoRAs go into the prompt as `<lora:name:weight>` tags, as the webui writes
    them; `lora_hashes` (name: short hash) become its `Lora hashes` setting."""
    sampler, schedule = a1111_sampler(request.scheduler)
    settings: dict[str, object] = {"Steps": request.steps, "Sampler": sampler}
    if schedule:
        settings["Schedule type"] = schedule
    settings["CFG scale"] = _number(request.guidance_scale)
    settings["Seed"] = seed
    if request.size is not None:
        settings["Size"] = f"{request.width}x{request.height}"
    if model_hash:
        settings["Model hash"] = model_hash
    settings["Model"] = model_name
    if request.mode.uses_init_image:
        settings["Denoising strength"] = _number(request.strength)
    if request.mode is Mode.INPAINT:
        settings["Mask blur"] = request.mask_feather
    if lora_hashes:
        settings["Lora hashes"] = format_lora_hashes(lora_hashes)
    # Not a bare number: the webui turns on old-behaviour flags for numeric versions below 1.6.
    settings["Version"] = f"snail-studio {__version__}"

    prompt = prompt_with_loras(request.prompt, request.loras)
    lines = [prompt] if prompt else []
    if request.negative_prompt.strip():
        lines.append(f"{NEGATIVE_LABEL} {request.negative_prompt}")
    # The settings line goes last, so a prompt line that looks like `k: v` pairs stays prompt.
    lines.append(", ".join(f"{key}: {_quote(str(value))}" for key, value in settings.items()))
    return "\n".join(lines)


def _number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _quote(value: str) -> str:
    """JSON-quote a value the settings line could not hold as it is."""
    needs_quotes = (
        not value
        or value.startswith('"')
        or value != value.strip()  # an unquoted value loses its outer spaces
        or any(char in value for char in ",:\n\r")
    )
    return json.dumps(value, ensure_ascii=False) if needs_quotes else value


# --- reading ---------------------------------------------------------------------------------


def parse_parameters(text: str) -> tuple[str, str, dict[str, str]]:
    """Split `parameters` text into (prompt, negative prompt, settings), as leniently as the webui.

    Also takes a JSON object (Fooocus, or our own request); its known keys come back under
    the webui's names (`Steps`, `Sampler`, `CFG scale`, `Size`, ...), other keys as they are.
    Text with no settings line comes back as all prompt, with no settings.
    """
    stripped = text.strip()
    data = _json_object(stripped)
    if data is not None:
        parsed = _parse_json(data)
        if parsed is not None:
            return parsed
    # Split on "\n" only, as the webui does: str.splitlines would also split on U+2028 and
    # friends, which JSON-quoting leaves in values as they are.
    *lines, last = stripped.split("\n")
    pairs = _PAIR.findall(last)
    if len(pairs) < _MIN_SETTINGS:
        lines.append(last)
        pairs = []
    prompt, negative = _split_prompt(lines)
    settings: dict[str, str] = {}
    for key, raw in pairs:
        if raw:  # an empty unquoted value breaks the pair in the webui too
            settings[key] = _unquote(raw)
    return prompt, negative, settings


def _split_prompt(lines: list[str]) -> tuple[str, str]:
    prompt, negative, in_negative = "", "", False
    for raw in lines:
        line = raw.strip()
        if line.startswith(NEGATIVE_LABEL):
            in_negative = True
            line = line[len(NEGATIVE_LABEL) :].strip()
        # Like the webui, blank lines before the first text are dropped, later ones kept.
        if in_negative:
            negative = f"{negative}\n{line}" if negative else line
        else:
            prompt = f"{prompt}\n{line}" if prompt else line
    return prompt, negative


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, str):
            return decoded
    return value


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _parse_json(data: dict[str, Any]) -> tuple[str, str, dict[str, str]] | None:
    fields = {_json_key(key): value for key, value in data.items()}
    ours = _is_studio_dict(data)
    prompt = next((fields[k] for k in _PROMPT_KEYS if isinstance(fields.get(k), str)), None)
    negative = next((fields[k] for k in _NEGATIVE_KEYS if isinstance(fields.get(k), str)), "")
    settings: dict[str, str] = {}
    for key, value in fields.items():
        if key in _PROMPT_KEYS or key in _NEGATIVE_KEYS or value is None:
            continue
        if ours and key == "scheduler":
            name = "Sampler"  # ours holds the whole name ("DPM++ 2M Karras"), not a schedule
        elif ours and key in ("width", "height"):
            continue  # joined into Size below
        else:
            name = _JSON_KEYS.get(key, key)
        settings[name] = _json_value(value, size=name == "Size")
    if ours and isinstance(data.get("width"), int) and isinstance(data.get("height"), int):
        settings["Size"] = f"{data['width']}x{data['height']}"
    if prompt is None and not any(key in settings for key in _JSON_KEYS.values()):
        return None  # some other JSON (a ComfyUI graph): not generation parameters
    return prompt or "", negative, settings


def _json_key(key: str) -> str:
    return str(key).strip().lower().replace(" ", "_")


def _json_value(value: object, *, size: bool) -> str:
    if size and isinstance(value, list | tuple) and len(value) == 2:
        return f"{value[0]}x{value[1]}"
    if isinstance(value, str):
        match = _SIZE.match(value) if size else None
        return f"{match[1]}x{match[2]}" if match else value
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, int | bool):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _is_studio_dict(data: dict[str, Any], *, strict: bool = True) -> bool:
    """True for our own `request.to_dict()` (the `snail_studio` chunk).

    `strict` (for JSON found in `parameters` text) also wants no keys beyond ours, to tell it
    from other tools' JSON; in our own chunk, keys a newer version added are simply ignored.
    """
    names = {field.name for field in dataclasses.fields(GenerationRequest)}
    return (
        isinstance(data.get("prompt"), str)
        and data.get("mode") in {mode.value for mode in Mode}
        and {"scheduler", "guidance_scale"} <= data.keys()
        and (not strict or data.keys() <= names)
    )


def request_from_parameters(text: str) -> GenerationRequest:
    """Rebuild a request from `parameters` text (ours, the webui's, Fooocus's JSON, ...).

    Images are not part of the text, so an img2img or inpaint request comes back without them.
    Raises ImageError when the text holds no generation parameters.
    """
    data = _json_object(text.strip())
    if data is not None and _is_studio_dict(data):
        return _request_from_studio_dict(data)
    prompt, negative, settings = parse_parameters(text)
    return request_from_settings(prompt, negative, settings)


def request_from_settings(
    prompt: str, negative: str, settings: dict[str, str]
) -> GenerationRequest:
    """A request from parsed parameters (webui names: `Steps`, `Sampler`, `CFG scale`, ...).

    Raises ImageError when there are no settings at all.
    """
    if not settings:
        raise ImageError(NO_PARAMETERS)
    kwargs: dict[str, Any] = {
        "prompt": prompt,
        "negative_prompt": negative,
        "model": settings.get("Model") or DEFAULT_MODEL,
        "scheduler": normalize_scheduler(settings.get("Sampler"), settings.get("Schedule type")),
    }
    for field, key, convert in (
        ("steps", "Steps", _to_int),
        ("guidance_scale", "CFG scale", _to_float),
        ("seed", "Seed", _to_int),
        ("strength", "Denoising strength", _to_float),
        ("mask_feather", "Mask blur", _to_int),
    ):
        value = convert(settings.get(key))
        if value is not None:  # a value we cannot read keeps the default, as in the webui
            kwargs[field] = value
    size = _size(settings)
    if size is not None:
        kwargs["width"], kwargs["height"] = size
    return GenerationRequest(**kwargs)


def _request_from_studio_dict(data: dict[str, Any]) -> GenerationRequest:
    types: dict[str, tuple[type, ...]] = {
        "prompt": (str,),
        "negative_prompt": (str,),
        "model": (str,),
        "scheduler": (str,),
        "steps": (int,),
        "guidance_scale": (int, float),
        "seed": (int, type(None)),
        "width": (int, type(None)),
        "height": (int, type(None)),
        "strength": (int, float),
        "mask_feather": (int,),
        "batch_size": (int,),
    }
    for key, allowed in types.items():
        value = data.get(key)
        if key in data and (isinstance(value, bool) or not isinstance(value, allowed)):
            raise ImageError(f"bad {key} in image metadata: {value!r}")
    try:
        request = GenerationRequest.from_dict(data)
    except RequestError as exc:
        raise ImageError(f"bad image metadata: {exc}") from exc
    if request.scheduler not in SCHEDULER_NAMES:
        request = dataclasses.replace(request, scheduler=normalize_scheduler(request.scheduler))
    return request


def _to_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())  # not via float: seeds can exceed float's 53-bit precision
    except ValueError:
        number = _to_float(value)
    return int(number) if number is not None and number.is_integer() else None


def _to_float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _size(settings: dict[str, str]) -> tuple[int, int] | None:
    match = _SIZE.match(settings.get("Size", ""))
    if match:
        return int(match[1]), int(match[2])
    width, height = _to_int(settings.get("Size-1")), _to_int(settings.get("Size-2"))
    return (width, height) if width and height else None


# --- PNG files -------------------------------------------------------------------------------


def save_png(
    image: Image.Image,
    path: Path,
    request: GenerationRequest,
    seed: int,
    model_name: str,
    model_hash: str | None = None,
    lora_hashes: dict[str, str] | None = None,
    extra_text: Mapping[str, str] | None = None,
) -> Path:
    """Write `image` as a PNG with both metadata chunks, atomically; returns `path`.

    `extra_text` adds chunks of other tools (ComfyUI's `prompt` and `workflow`); it cannot
    replace ours.

    The file appears complete or not at all (`write_bytes_atomic`),
    so a crash or a reader polling the outputs folder never sees half an image.
    """
    path = Path(path)
    info = PngImagePlugin.PngInfo()
    # add_text writes tEXt, or iTXt when the text is not Latin-1, and Pillow puts text chunks
    # before the image data, where readers that stop at IDAT still find them.
    info.add_text(
        PARAMETERS_CHUNK, format_parameters(request, seed, model_name, model_hash, lora_hashes)
    )
    exact = dataclasses.replace(request, seed=seed).to_dict()
    info.add_text(STUDIO_CHUNK, json.dumps(exact, ensure_ascii=False))
    for key, text in (extra_text or {}).items():
        if key not in (PARAMETERS_CHUNK, STUDIO_CHUNK):
            info.add_text(key, text)

    encoded = io.BytesIO()
    image.save(encoded, format="PNG", pnginfo=info)
    # Durable: the caller reports "saved" once we return.
    return write_bytes_atomic(path, encoded.getvalue(), durable=True)


def read_png_request(path: Path) -> GenerationRequest:
    """The request an image was made with: our JSON chunk if usable, else `parameters`."""
    path = Path(path)
    text = read_text_chunks(path)
    studio = _json_object(str(text.get(STUDIO_CHUNK, "")).strip())
    if studio is not None and _is_studio_dict(studio, strict=False):
        try:
            return _request_from_studio_dict(studio)
        except ImageError:
            pass  # a damaged chunk of ours: the webui text may still be good
    parameters = text.get(PARAMETERS_CHUNK)
    if not isinstance(parameters, str) or not parameters.strip():
        raise ImageError(f"{NO_PARAMETERS} in {path.name}")
    try:
        return request_from_parameters(parameters)
    except ImageError as exc:
        raise ImageError(f"{exc} in {path.name}") from exc


def read_text_chunks(path: Path) -> dict[str, Any]:
    """Every text chunk of the image at `path` (PNG tEXt/iTXt/zTXt; other formats' info)."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            return _text_chunks(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        # Pillow raises these for missing, unreadable and damaged files alike.
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ImageError(f"cannot read {path.name}: {_one_line(reason)}") from exc


def _text_chunks(image: Image.Image) -> dict[str, Any]:
    if STUDIO_CHUNK in image.info or PARAMETERS_CHUNK in image.info:
        return dict(image.info)
    # Text chunks after the image data only show up once the pixels are read.
    image.load()
    return dict(image.info)


def _one_line(text: str) -> str:
    return " ".join(text.split())
