"""The command line: `snail-studio generate`, `snail-studio models`; no command opens the window.

`python main.py <command>` and `python -m studio <command>` land here too. Bad input exits
with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from studio import __version__
from studio.core.errors import GenerationCancelled, ImageError, StudioError
from studio.core.history import HistoryStore
from studio.core.outputs import save_result, save_result_as
from studio.core.paths import AppPaths
from studio.core.request import DEFAULT_SCHEDULER, GenerationRequest, Mode
from studio.core.schedulers import SCHEDULER_NAMES
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
    generate.set_defaults(run=run_generate)

    models = commands.add_parser("models", help="list the models the studio can use")
    models.add_argument("--model-dir", type=Path, action="append", default=[])
    models.set_defaults(run=run_models)
    for command in (generate, models):
        command.add_argument(
            "--server",
            action="append",
            default=[],
            metavar="URL",
            help=f"run on this ComfyUI server (repeat for several; token from ${TOKEN_ENV})",
        )
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
    engine = _engine(_settings(options), options.server)
    rows = [("ID", "FAMILY", "FORMAT", "SIZE", "PATH")]
    for info in engine.models():
        size = "x".join(map(str, info.native_size))
        rows.append((info.id, info.family, info.format, size, str(info.path)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + row[4])
    return 0


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
    engine = _engine(settings, options.server)
    if options.guidance is None:
        model = engine.load_model(request.model)
        request = dataclasses.replace(request, guidance_scale=settings.guidance_for(model))
    cancel = threading.Event()
    with _ProgressBar() as bar:
        try:
            result = engine.generate(request, on_step=bar.update, cancel=cancel)
        except KeyboardInterrupt:
            cancel.set()
            raise
    paths = AppPaths.from_environment()
    history = HistoryStore(paths.history_db)
    out = options.out
    if out is not None and out.suffix.lower() == ".png":
        written = save_result_as(result, out, history)
    else:
        folder = out or settings.outputs_folder(paths.outputs_dir)
        written = save_result(result, folder, history)
    for path in written:
        print(path)
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
    """A tqdm bar on stderr, created at the first step (img2img runs fewer steps than asked)."""

    def __init__(self) -> None:
        self._bar = None

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def update(self, update) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=update.total, desc="denoising", unit="step", file=sys.stderr)
        self._bar.n = update.step
        self._bar.refresh()
