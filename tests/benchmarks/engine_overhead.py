"""Engine overhead against a bare diffusers call, preview cost, and cancel latency.

    python tests/benchmarks/engine_overhead.py [--runs 7] [--size 256] [--steps 20]
        [--scheduler "DPM++ 2M"]

On a CPU that other processes keep busy, run it with OMP_NUM_THREADS=1: with more threads each
parallel op waits for a descheduled thread and single runs swing tenfold.

The same request goes through `StableDiffusionPipeline.__call__` and through
`Engine.generate` with previews on, interleaved, on the tiny test pipeline. Prints one JSON line
last: median ratio engine/bare (target <= 1.03), preview ms per step at 64x64 latents: the
clean-image estimate x0 computed from the schedule (what DPM++ and UniPC need) plus the x0
and x_t previews (target < 2), cancel latency ms (target: one step + 100 ms).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from diffusers import StableDiffusionPipeline  # noqa: E402

from studio.core.errors import GenerationCancelled  # noqa: E402
from studio.core.request import GenerationRequest  # noqa: E402
from studio.engine import Engine, ModelLibrary  # noqa: E402
from studio.engine.denoised import estimate_clean  # noqa: E402
from studio.engine.devices import Placement  # noqa: E402
from studio.engine.families.sd import SD1_FACTORS  # noqa: E402
from studio.engine.previews import LatentPreviewer  # noqa: E402
from studio.engine.schedulers import make_scheduler  # noqa: E402
from tests.tiny_pipeline import save_tiny_pipeline  # noqa: E402


def time_bare(pipe: StableDiffusionPipeline, request: GenerationRequest) -> float:
    started = time.perf_counter()
    with torch.inference_mode():
        pipe(
            prompt=request.prompt,
            num_inference_steps=request.steps,
            guidance_scale=request.guidance_scale,
            generator=[torch.Generator("cpu").manual_seed(request.seed)],
            width=request.width,
            height=request.height,
        )
    return time.perf_counter() - started


def time_engine(engine: Engine, request: GenerationRequest) -> float:
    previews = []
    started = time.perf_counter()
    engine.generate(request, on_step=lambda update: previews.append(update.preview))
    elapsed = time.perf_counter() - started
    assert len(previews) == request.steps and previews[-1] is not None
    return elapsed


def preview_ms(scheduler) -> float:
    """One step's reporting work: x0 from the schedule, then previews of x0 and x_t."""
    previewer = LatentPreviewer.from_values(SD1_FACTORS, (0.0, 0.0, 0.0))
    latents, output = torch.randn(1, 4, 64, 64), torch.randn(1, 4, 64, 64)
    timestep = torch.tensor(500)
    times = []
    for _ in range(200):
        started = time.perf_counter()
        clean = estimate_clean(scheduler, latents, output, timestep)
        previewer(clean), previewer(latents)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def cancel_latency_ms(
    engine: Engine, request: GenerationRequest, tries: int = 5
) -> tuple[float, float]:
    """Worst time from `cancel.set()` to `generate` returning, and the median step time."""
    latencies, steps = [], []
    for _ in range(tries):
        cancel, reached, ended = threading.Event(), threading.Event(), []
        stamps = []

        def on_step(update, stamps=stamps, reached=reached):
            stamps.append(time.perf_counter())
            if update.step == 3:
                reached.set()

        def work(cancel=cancel, ended=ended, on_step=on_step):
            try:
                engine.generate(request, on_step=on_step, cancel=cancel)
            except GenerationCancelled:
                ended.append(time.perf_counter())

        thread = threading.Thread(target=work)
        thread.start()
        reached.wait()
        time.sleep(0.005)  # land inside a step, not at its edge
        set_at = time.perf_counter()
        cancel.set()
        thread.join()
        latencies.append((ended[0] - set_at) * 1000)
        steps.append(statistics.median(b - a for a, b in itertools.pairwise(stamps)) * 1000)
    return max(latencies), statistics.median(steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--scheduler", default="DDIM")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp()) / "models"
    save_tiny_pipeline(folder / "tiny")
    bare = StableDiffusionPipeline.from_pretrained(folder / "tiny", local_files_only=True)
    bare.set_progress_bar_config(disable=True)
    bare.scheduler = make_scheduler(args.scheduler, bare.scheduler.config)
    engine = Engine(
        ModelLibrary([folder], embedded_dir=folder / "none"), Placement.choose("fp32", "cpu")
    )
    request = GenerationRequest(
        "a red circle",
        model="tiny",
        scheduler=args.scheduler,
        steps=args.steps,
        seed=1,
        width=args.size,
        height=args.size,
    )
    time_bare(bare, request), time_engine(engine, request)  # warm both up
    ratios, bare_s, engine_s = [], [], []
    for _ in range(args.runs):
        b, e = time_bare(bare, request), time_engine(engine, request)
        bare_s.append(b)
        engine_s.append(e)
        ratios.append(e / b)
        print(f"bare {b:.3f} s  engine {e:.3f} s  ratio {e / b:.3f}", file=sys.stderr)
    cancel_ms, step_ms = cancel_latency_ms(engine, dataclasses.replace(request, steps=200))
    print(
        json.dumps(
            {
                "median_ratio_engine_over_bare": round(statistics.median(ratios), 4),
                "bare_median_s": round(statistics.median(bare_s), 3),
                "engine_median_s": round(statistics.median(engine_s), 3),
                "preview_ms_per_step_64x64_latents": round(preview_ms(bare.scheduler), 3),
                "cancel_latency_ms_worst": round(cancel_ms, 1),
                "step_ms_median": round(step_ms, 1),
                "runs": args.runs,
                "size": args.size,
                "steps": args.steps,
                "scheduler": args.scheduler,
            }
        )
    )


if __name__ == "__main__":
    main()
