"""The command line's ways to see the diffusion: `generate --timeline FILE --attention DIR`,
`sweep`, `noise`.

Kept apart from `cli.py`: `add_generate_flags` adds the flags, `observers_for` turns them into
the engine's step observers, and `write_observed` writes what they saw after the run;
`add_commands` adds the subcommands.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from studio.core.animations import check_animation_path
from studio.core.errors import RequestError
from studio.core.request import DEFAULT_SCHEDULER, MAX_SEED, GenerationRequest, Mode
from studio.core.sweep import AxisKind, Sweep, SweepAxis, guidance_table


def add_generate_flags(generate: argparse.ArgumentParser) -> None:
    generate.add_argument(
        "--timeline",
        type=Path,
        metavar="FILE",
        help="also write an animated .webp or .gif (or an .mp4, with PyAV installed) of the "
        "clean-image estimate, one frame a step",
    )
    generate.add_argument(
        "--attention",
        type=Path,
        metavar="DIR",
        help="also write a cross-attention heat map per word of the prompt (PNGs and index.json)",
    )


def check_generate_flags(options: argparse.Namespace) -> None:
    """Refuse bad flags before the slow engine import."""
    seeing = [flag for flag in ("timeline", "attention") if getattr(options, flag) is not None]
    if seeing and options.server:
        raise RequestError(
            f"--{seeing[0]} needs this machine's engine: a ComfyUI server sends no latents"
        )
    if options.timeline is not None:
        check_animation_path(options.timeline, "--timeline")


def observers_for(options: argparse.Namespace) -> list[Any]:
    observers: list[Any] = []
    if options.timeline is not None:
        from studio.engine.timeline import Timeline

        observers.append(Timeline())
    if options.attention is not None:
        from studio.engine.attention import AttentionRecorder

        observers.append(AttentionRecorder())
    return observers


def write_observed(options: argparse.Namespace, observers: list[Any], result: Any) -> None:
    """Write each observer's files and print their paths, like the images'."""
    if not observers:
        return  # and the engine's modules (torch) stay unimported, as on a ComfyUI server
    from studio.engine.attention import AttentionRecorder
    from studio.engine.timeline import Timeline

    for observer in observers:
        if isinstance(observer, Timeline):
            print(observer.export(options.timeline))
            print(f"timeline: {len(observer.steps)} frames", file=sys.stderr)
        elif isinstance(observer, AttentionRecorder):
            print(write_attention(observer, result, options.attention))


MIN_MAP_SIDE = 256  # small models' images are scaled up so a map can be read


def write_attention(recorder: Any, result: Any, folder: Path) -> Path:
    """One overlay PNG per word, and index.json naming them with each map's hottest point."""
    from studio.engine.attention import overlay

    folder.mkdir(parents=True, exist_ok=True)
    image = result.images[0]
    scale = max(1, -(-MIN_MAP_SIDE // max(image.size)))
    shown = image.resize((image.width * scale, image.height * scale))
    words = []
    for number, word_map in enumerate(recorder.word_maps(result.request.prompt), 1):
        name = f"{number:02d}-{_file_safe(word_map.word)}.png"
        overlay(shown, word_map.heat).save(folder / name)
        row, column = divmod(int(word_map.heat.argmax()), word_map.heat.shape[1])
        height, width = word_map.heat.shape
        words.append(
            {
                "word": word_map.word,
                "tokens": list(word_map.tokens),
                "file": name,
                "hottest": [round((column + 0.5) / width, 3), round((row + 0.5) / height, 3)],
            }
        )
    shown.save(folder / "image.png")
    index = {
        "prompt": result.request.prompt,
        "image": "image.png",
        "steps": len(recorder.steps),
        "words": words,
    }
    (folder / "index.json").write_text(json.dumps(index, indent=2, ensure_ascii=False))
    return folder / "index.json"


def _file_safe(word: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in word) or "_"


# -- sweep -----------------------------------------------------------------------------------

# The first two flags given more than one value, in this order, are the X and Y axes.
AXIS_FLAGS = {
    AxisKind.GUIDANCE: "guidance",
    AxisKind.STEPS: "steps",
    AxisKind.SAMPLER: "sampler",
    AxisKind.STRENGTH: "strength",
    AxisKind.MODEL: "model",
    AxisKind.PROMPT: "prompt_sr",
    AxisKind.SEED: "seed",
}
GUIDANCE_TABLE = "guidance-table"


def add_commands(commands: Any) -> list[argparse.ArgumentParser]:
    """Add `sweep` and `noise`; returns those that can run on ComfyUI servers (`sweep`)."""
    sweep = commands.add_parser(
        "sweep",
        help="an X/Y grid of images over two of guidance, steps, seed, sampler, strength, "
        "model, prompt search-and-replace",
        description="Give comma-separated values: the first two flags with several values "
        "are the X and Y axes (in the order guidance, steps, sampler, strength, model, "
        "prompt S/R, seed); single values set the base request.",
    )
    sweep.add_argument("--prompt", required=True)
    sweep.add_argument("--negative-prompt", default="")
    sweep.add_argument("--guidance", help="e.g. 1,3,7.5,15 (default: the model's own)")
    sweep.add_argument("--steps", help="e.g. 10,20,40")
    sweep.add_argument("--seed", help="e.g. 1,2,3 (default: one random seed for every cell)")
    sweep.add_argument("--sampler", help="e.g. DDIM,Euler a")
    sweep.add_argument("--strength", help="img2img strengths, e.g. 0.3,0.6,0.9")
    sweep.add_argument("--model", help="model ids or folders")
    sweep.add_argument(
        "--prompt-sr", help="search,replace1,replace2...: the first value is searched for"
    )
    sweep.add_argument("--preset", choices=[GUIDANCE_TABLE])
    sweep.add_argument("--init-image", type=Path, help="input image: the sweep runs img2img")
    sweep.add_argument("--width", type=int)
    sweep.add_argument("--height", type=int)
    sweep.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"))
    sweep.add_argument("--model-dir", type=Path, action="append", default=[])
    sweep.add_argument("--out", type=Path, required=True, help="the grid, a .png file")
    sweep.set_defaults(run=run_sweep)

    noise = commands.add_parser(
        "noise", help="an image as the forward process noises it, at chosen timesteps"
    )
    noise.add_argument("--image", type=Path, required=True)
    noise.add_argument(
        "--t",
        default="0,250,500,750,999",
        help="training timesteps: 0..999, or 0..1000 on flow-matching models (SD3, FLUX.1)",
    )
    noise.add_argument("--seed", type=int, default=0, help="the noise's seed")
    noise.add_argument("--model", help="model id or folder (default: settings, else snail-mini)")
    noise.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"))
    noise.add_argument("--model-dir", type=Path, action="append", default=[])
    noise.add_argument("--out", type=Path, required=True, help="the grid, a .png file")
    noise.set_defaults(run=run_noise)
    return [sweep]


def sweep_from_options(options: argparse.Namespace, defaults: GenerationRequest) -> Sweep:
    """The sweep the flags describe; `defaults` holds the settings' values."""
    if options.out.suffix.lower() != ".png":
        raise RequestError(f"--out must be a .png file: {options.out}")
    axes, base = [], defaults
    for kind, flag in AXIS_FLAGS.items():
        text = getattr(options, flag)
        if text is None:
            continue
        axis = SweepAxis.parse(kind, text)
        if len(axis.values) > 1 or kind is AxisKind.PROMPT:
            axes.append(axis)
        else:
            base = axis.apply(base, axis.values[0])
    if options.preset == GUIDANCE_TABLE:
        if axes:
            raise RequestError("the guidance table sets both axes; give single values only")
        return guidance_table(base)
    if not axes:
        raise RequestError("give at least one flag several values, e.g. --guidance 1,3,7.5")
    if len(axes) > 2:
        names = ", ".join(a.kind.value for a in axes)
        raise RequestError(f"a sweep has two axes, got {len(axes)}: {names}")
    return Sweep(base, axes[0], axes[1] if len(axes) > 1 else None)


def run_sweep(options: argparse.Namespace) -> int:
    from studio.cli import _engine, _open_image, _settings
    from studio.core.sweep_grid import render_grid, save_grid

    settings = _settings(options)
    init = _open_image(options.init_image, "input image")
    defaults = GenerationRequest(
        prompt=options.prompt,
        negative_prompt=options.negative_prompt,
        mode=Mode.IMG2IMG if init is not None else Mode.TXT2IMG,
        model=settings.default_model,
        scheduler=settings.default_scheduler or DEFAULT_SCHEDULER,
        steps=settings.default_steps,
        width=options.width or settings.default_width or None,
        height=options.height or settings.default_height or None,
        init_image=init,
    )
    sweep = sweep_from_options(options, defaults).with_seed(random.randint(0, MAX_SEED))
    sweep.validate()  # before the slow engine import
    engine = _engine(settings, options.server)
    if options.guidance is None and not sweep.varies(AxisKind.GUIDANCE):
        guidance = settings.guidance_for(engine.describe(sweep.base.model))
        sweep = dataclasses.replace(
            sweep, base=dataclasses.replace(sweep.base, guidance_scale=guidance)
        )
    results = _run_cells(engine, [cell.request for cell in sweep.cells()])
    images = [result.images[0] for result in results]
    model_name = results[-1].model_name
    grid = render_grid(sweep, images, model_name)
    print(save_grid(grid, options.out, sweep, model_name))
    return 0


def _run_cells(engine: Any, requests: list[GenerationRequest]) -> list[Any]:
    """Each cell's result, in order: one at a time with a progress bar on this machine, or
    as many at once as the backend runs (one a ComfyUI server)."""
    from studio.cli import _ProgressBar

    total = len(requests)
    if engine.features.parallel_jobs == 1:
        results = []
        for number, request in enumerate(requests, 1):
            print(f"cell {number}/{total}", file=sys.stderr)
            with _ProgressBar("denoising", unit="step") as bar:
                result = engine.generate(
                    request,
                    on_step=lambda u, bar=bar: bar.show(u.step, u.total),
                    cancel=threading.Event(),
                )
            results.append(result)
        return results
    cancel = threading.Event()
    with ThreadPoolExecutor(engine.features.parallel_jobs) as pool:
        futures = {pool.submit(engine.generate, r, None, cancel): i for i, r in enumerate(requests)}
        try:
            for done, future in enumerate(as_completed(futures), 1):
                result = future.result()
                made_on = ", ".join(result.workers)
                print(
                    f"cell {futures[future] + 1} done on {made_on} ({done}/{total})",
                    file=sys.stderr,
                )
        finally:
            cancel.set()  # after a failure the other cells stop; after success a no-op
    return [future.result() for future in futures]


# -- noise -----------------------------------------------------------------------------------


def run_noise(options: argparse.Namespace) -> int:
    from studio.cli import _engine, _open_image, _settings
    from studio.core.image_grid import labelled_grid

    try:
        timesteps = [int(part) for part in options.t.split(",")]
    except ValueError:
        raise RequestError(f"--t takes whole timesteps like 0,250,999, got {options.t!r}") from None
    if options.out.suffix.lower() != ".png":
        raise RequestError(f"--out must be a .png file: {options.out}")
    image = _open_image(options.image, "image")
    settings = _settings(options)
    from studio.engine.noise_lab import open_lab

    engine = _engine(settings)
    model = options.model or settings.default_model
    lab = open_lab(engine, model, image, options.seed)
    if not all(0 <= t <= lab.last_timestep for t in timesteps):
        raise RequestError(f"timesteps run from 0 to {lab.last_timestep}, got {options.t}")
    curves = lab.curves()
    frames = [lab.image_at(t) for t in timesteps]
    labels = [f"t {t}" for t in timesteps]
    notes = [
        f"{options.image.name} noised by the forward process of {model} (seed {options.seed})",
        "  ".join(
            f"t {t}: {curves.signal_name} {curves.signal[t]:.3g}, SNR {curves.snr[t]:.3g};"
            for t in timesteps
        ),
    ]
    options.out.parent.mkdir(parents=True, exist_ok=True)
    labelled_grid(frames, labels, [""], notes).save(options.out)
    print(options.out)
    return 0
