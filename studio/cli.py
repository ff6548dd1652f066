"""The command line: `snail-studio generate`, `snail-studio models`; no command opens the window.

`python main.py <command>` and `python -m studio <command>` land here too. Bad input exits
with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from studio import __version__, cli_sight
from studio.core.errors import GenerationCancelled, ImageError, ModelError, StudioError
from studio.core.history import HistoryStore
from studio.core.models import ModelInfo
from studio.core.paths import AppPaths
from studio.core.request import DEFAULT_SCHEDULER, GenerationRequest, Mode, resolve_request
from studio.core.schedulers import SCHEDULER_NAMES
from studio.core.service import StudioService
from studio.core.settings import Settings

EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 130
TOKEN_ENV = "SNAIL_STUDIO_SERVER_TOKEN"  # never a command-line argument: others can read those


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        from studio.ui.app import main as run_window

        return run_window([])
    parser = build_parser()
    options = parser.parse_args(args)
    try:
        return options.run(options)
    except StudioError as exc:
        print(f"snail-studio: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (GenerationCancelled, KeyboardInterrupt):
        print("snail-studio: cancelled", file=sys.stderr)
        return EXIT_CANCELLED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="snail-studio", description="Local latent diffusion.")
    parser.add_argument("--version", action="version", version=f"snail-studio {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="make images from a prompt")
    generate.add_argument("--prompt", required=True)
    generate.add_argument("--negative-prompt", default="")
    generate.add_argument("--model", help="model id or folder (default: settings, else snail-mini)")
    generate.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.TXT2IMG.value)
    generate.add_argument("--init-image", type=Path, help="input image for img2img and inpaint")
    generate.add_argument("--mask", type=Path, help="inpaint mask: white = repaint")
    generate.add_argument("--mask-feather", type=int, default=4, metavar="PX")
    generate.add_argument("--strength", type=float, default=0.75)
    generate.add_argument("--steps", type=int)
    generate.add_argument(
        "--guidance",
        type=float,
        help="CFG scale (default: the model's recommended scale, else the settings' default)",
    )
    generate.add_argument(
        "--true-cfg",
        type=float,
        default=1.0,
        help="FLUX.1: real classifier-free guidance with the negative prompt when above 1",
    )
    generate.add_argument("--seed", type=int)
    generate.add_argument("--width", type=int, help="default: the model's native size")
    generate.add_argument("--height", type=int)
    generate.add_argument("--scheduler", choices=SCHEDULER_NAMES)
    generate.add_argument("--batch", type=int, default=1)
    generate.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"))
    generate.add_argument("--model-dir", type=Path, action="append", default=[])
    generate.add_argument(
        "--out", type=Path, help="a .png file, or a folder (default: the outputs folder)"
    )
    cli_sight.add_generate_flags(generate)
    generate.set_defaults(run=run_generate)

    models = commands.add_parser("models", help="list the models the studio finds")
    models.add_argument("--model-dir", type=Path, action="append", default=[])
    models.add_argument("--json", action="store_true", help="one JSON object per model")
    models.set_defaults(run=run_models)
    for command in (generate, models, *cli_sight.add_commands(commands)):
        command.add_argument(
            "--server",
            action="append",
            default=[],
            metavar="URL",
            help=f"run on this ComfyUI server (repeat for several; token from ${TOKEN_ENV})",
        )

    inspect = commands.add_parser("inspect", help="say what a model file is, without loading it")
    inspect.add_argument("file", type=Path)
    inspect.set_defaults(run=run_inspect)
    return parser


def _settings(options: argparse.Namespace) -> Settings:
    settings = Settings.load(AppPaths.from_environment().settings_file)
    settings.model_folders = [*settings.model_folders, *map(str, options.model_dir)]
    if getattr(options, "precision", None):
        settings.precision = options.precision
    return settings


def _engine(settings: Settings, servers: Sequence[str] = ()):
    if servers:
        from studio.remote import ComfyBackend, ServerConfig

        token = os.environ.get(TOKEN_ENV, "")
        return ComfyBackend([ServerConfig(url, token) for url in servers])
    from studio.engine import Engine

    return Engine.from_settings(settings)


def run_models(options: argparse.Namespace) -> int:
    models = _engine(_settings(options), options.server).models()
    if options.json:
        print(json.dumps([describe_model(info) for info in models], indent=2))
        return 0
    rows = [("ID", "FAMILY", "FORMAT", "SIZE", "MEMORY", "PATH / WHY NOT USABLE")]
    for info in models:
        size = "x".join(map(str, info.native_size))
        memory = f"{info.memory_bytes / 1e9:.1f} GB" if info.memory_bytes else "-"
        where = str(info.path) if info.usable else f"{info.path}: {info.problem}"
        label = info.family_label or info.family
        rows.append((info.id, label, info.format, size, memory, where))
    print(format_table(rows))
    return 0


def run_inspect(options: argparse.Namespace) -> int:
    from studio.engine.startup import import_engine

    import_engine()
    from studio.engine.library import identify_path

    path: Path = options.file
    if not path.exists():
        raise ModelError(f"no such file or folder: {path}")
    info = identify_path(path)
    print(json.dumps(describe_model(info), indent=2))
    return 0


def describe_model(info: ModelInfo) -> dict[str, object]:
    """What `models --json` and `inspect` print for one model."""
    return {
        "id": info.id,
        "name": info.name,
        "family": info.family,
        "family_label": info.family_label,
        "variant": info.variant,
        "format": info.format,
        "path": str(info.path),
        "native_size": list(info.native_size),
        "parameters": info.parameters,
        "memory_bytes": info.memory_bytes,
        "components": dict(info.components),
        "missing": list(info.missing),
        "notes": list(info.notes),
        "usable": info.usable,
        "problem": info.problem,
    }


def format_table(rows: list[tuple[str, ...]]) -> str:
    """Columns padded to their widest cell, two spaces apart; the last column runs free."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]
    return "\n".join(lines)


def run_generate(options: argparse.Namespace) -> int:
    settings = _settings(options)
    request = GenerationRequest(
        prompt=options.prompt,
        negative_prompt=options.negative_prompt,
        mode=Mode(options.mode),
        model=options.model or settings.default_model,
        scheduler=options.scheduler or settings.default_scheduler or DEFAULT_SCHEDULER,
        steps=options.steps if options.steps is not None else settings.default_steps,
        guidance_scale=options.guidance
        if options.guidance is not None
        else settings.default_guidance,
        true_cfg_scale=options.true_cfg,
        seed=options.seed,
        width=options.width or settings.default_width or None,
        height=options.height or settings.default_height or None,
        strength=options.strength,
        init_image=_open_image(options.init_image, "input image"),
        mask=_open_image(options.mask, "mask"),
        mask_feather=options.mask_feather,
        batch_size=options.batch,
    )
    request.validate()  # before the slow engine import
    cli_sight.check_generate_flags(options)
    paths = AppPaths.from_environment()
    service = StudioService(
        _engine(settings, options.server),
        HistoryStore(paths.history_db),
        settings.outputs_folder(paths.outputs_dir),
    )
    model = service.describe(request.model)
    resolve_request(request, model)  # a size the model cannot take is refused before loading
    if options.guidance is None:
        request = dataclasses.replace(request, guidance_scale=settings.guidance_for(model))
    if options.steps is None:
        request = dataclasses.replace(request, steps=settings.steps_for(model))
    with _ProgressBar("loading", unit="B", unit_scale=True, disable=None) as bar:
        service.load_model(request.model, lambda p: bar.show(p.done, p.total))
    cancel = threading.Event()
    observers = cli_sight.observers_for(options)
    with _ProgressBar("denoising", unit="step") as bar:
        try:
            outcome = service.generate(
                request,
                lambda u: bar.show(u.step, u.total),
                cancel,
                out=options.out,
                observers=observers,
            )
        except KeyboardInterrupt:
            cancel.set()
            raise
    for path in outcome.paths:
        print(path)
    cli_sight.write_observed(options, observers, outcome.result)
    return 0


def _open_image(path: Path | None, what: str) -> Image.Image | None:
    if path is None:
        return None
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except FileNotFoundError:
        raise ImageError(f"{what} not found: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ImageError(f"cannot read {what} {path}: {exc.__class__.__name__}") from None


class _ProgressBar:
    """A tqdm bar on stderr, created at the first report (img2img runs fewer steps than asked,
    and a model already in memory reports no reading at all)."""

    def __init__(self, desc: str, **options: object) -> None:
        self._desc = desc
        self._options = options
        self._bar = None

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def show(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=total, desc=self._desc, file=sys.stderr, **self._options)
        self._bar.n = done
        self._bar.refresh()
