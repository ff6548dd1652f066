"""Load time of a full-size SD 1.5 single file: the studio against a diffusers folder of the
same model and against bare `from_single_file`, then one small image from it, offline.

    python tests/benchmarks/model_load.py [--work DIR] [--runs 3]

The single file is built here with seeded random weights in the original A1111 layout (fp16,
2.1 GB; never committed) and kept in DIR for the next run. Loads alternate between the three
ways; the first (cold page cache) round is dropped. Prints one JSON line last: median seconds
for each way, the studio's ratio to bare diffusers, and the seconds of a 64x64 two-step image.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from diffusers import StableDiffusionPipeline  # noqa: E402

from studio.core.request import GenerationRequest  # noqa: E402
from studio.engine import Engine, ModelLibrary  # noqa: E402
from studio.engine.devices import Placement  # noqa: E402
from studio.engine.families.base import CONFIGS  # noqa: E402
from studio.engine.library import identify  # noqa: E402
from studio.engine.pipelines import load_pipeline  # noqa: E402
from tests.checkpoints.files import write_random  # noqa: E402
from tests.checkpoints.full_size import original_checkpoint  # noqa: E402


def prepare(work: Path) -> tuple[Path, Path]:
    work.mkdir(parents=True, exist_ok=True)
    single = work / "sd15-random.safetensors"
    folder = work / "sd15-random-diffusers"
    if not single.exists():
        print("writing a full-size SD 1.5 file with random weights...", file=sys.stderr)
        write_random(single, original_checkpoint("v1"), torch.float16)
    if not (folder / "model_index.json").exists():
        pipe = StableDiffusionPipeline.from_single_file(
            str(single), config=str(CONFIGS / "v1"), local_files_only=True,
            safety_checker=None, requires_safety_checker=False,
        )  # fmt: skip
        pipe.save_pretrained(folder)
        del pipe
    return single, folder


def timed(load) -> float:
    gc.collect()
    started = time.perf_counter()
    pipe = load()
    elapsed = time.perf_counter() - started
    del pipe
    gc.collect()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("/tmp/snail-bench-model-load"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    single, folder = prepare(args.work)
    placement = Placement.choose("fp32", "cpu")
    ways = {
        "studio_single_file_s": lambda: load_pipeline(identify(single, "sd15"), placement),
        "studio_folder_s": lambda: load_pipeline(identify(folder, "sd15-folder"), placement),
        "bare_from_single_file_s": lambda: StableDiffusionPipeline.from_single_file(
            str(single),
            config=str(CONFIGS / "v1"),
            local_files_only=True,
            safety_checker=None,
            requires_safety_checker=False,
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in ways}
    for run in range(args.runs + 1):
        for name, load in ways.items():
            elapsed = timed(load)
            print(f"run {run} {name}: {elapsed:.2f} s", file=sys.stderr)
            if run > 0:
                times[name].append(elapsed)
    medians = {name: round(statistics.median(values), 2) for name, values in times.items()}
    engine = Engine(ModelLibrary([args.work], embedded_dir=args.work / "none"), placement)
    request = GenerationRequest(
        prompt="a red circle", model="sd15-random", steps=2, seed=1, width=64, height=64
    )
    started = time.perf_counter()
    engine.generate(request)
    generate_s = round(time.perf_counter() - started, 2)
    ratio = medians["studio_single_file_s"] / medians["bare_from_single_file_s"]
    print(
        json.dumps(
            {
                **medians,
                "studio_vs_bare_ratio": round(ratio, 3),
                "file_gb": round(single.stat().st_size / 1e9, 2),
                "first_image_64px_2_steps_s": generate_s,
                "runs": args.runs,
            }
        )
    )


if __name__ == "__main__":
    main()
