"""Measure how well a model follows prompts of snail-mini's world.

    python -m studio.training.evaluate [--model snail-mini] [--prompts 64] [--write-card]

Prompts are single objects whose (colour, shape, position, background) combination was kept
out of training, plus the held-out colour-shape pairs never rendered at all. Each image is
judged by the deterministic scene analyzer. Tables: guidance 1-30 at DDIM 20 steps (both
sets), and DDIM 5-50 steps and DDPM 1000 at guidance 7.5. `--write-card` stores the results
with the model, rewrites its card, and makes the sweep's best guidance its recommended one.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass

import torch

from studio.engine.devices import Placement
from studio.engine.library import ModelLibrary
from studio.engine.pipelines import ResidentModel, load_pipeline
from studio.engine.previews import PREVIEW_FILE
from studio.engine.schedulers import make_scheduler
from studio.training.analyzer import analyze
from studio.training.captions import PLACES, with_article
from studio.training.model_card import (
    ASPECTS,
    EVALUATION_FILE,
    format_report,
    recommended_guidance,
    write_card,
)
from studio.training.world import (
    HELD_OUT_PAIRS,
    PALETTE,
    POSITIONS,
    SHAPES,
    is_evaluation_combo,
)

GUIDANCE_SWEEP = (1.0, 2.0, 3.0, 5.0, 7.5, 15.0, 30.0)
GUIDANCE_DRAWS = 3  # seeds per prompt in the guidance sweep: its differences are small
STEP_SWEEP = (("DDIM", 5), ("DDIM", 10), ("DDIM", 20), ("DDIM", 50), ("DDPM", 1000))


@dataclass(frozen=True)
class Case:
    color: str
    shape: str
    position: str
    background: str

    @property
    def prompt(self) -> str:
        thing = with_article(f"{self.color} {self.shape}")
        return f"{thing} {PLACES[self.position]} on {with_article(self.background)} background"


def evaluation_cases(count: int, seed: int = 0) -> list[Case]:
    """Combinations never seen in training (no held-out pair among them)."""
    combos = [
        Case(color, shape, position, background)
        for color in PALETTE
        for shape in SHAPES
        for position in POSITIONS
        for background in PALETTE
        if background != color
        and (color, shape) not in HELD_OUT_PAIRS
        and is_evaluation_combo(color, shape, position, background)
    ]
    return random.Random(seed).sample(combos, min(count, len(combos)))


def held_out_cases(count: int, seed: int = 0) -> list[Case]:
    """The colour-shape pairs never rendered in training, at random places and backgrounds."""
    rng = random.Random(seed)
    pairs = sorted(HELD_OUT_PAIRS)
    cases = []
    for i in range(count):
        color, shape = pairs[i % len(pairs)]
        background = rng.choice([c for c in PALETTE if c != color])
        cases.append(Case(color, shape, rng.choice(list(POSITIONS)), background))
    return cases


def score(
    model: ResidentModel,
    cases: list[Case],
    scheduler: str = "DDIM",
    steps: int = 20,
    guidance: float = 7.5,
    seed: int = 0,
) -> dict[str, float]:
    """Fraction of images whose colour, shape, position and background match the prompt."""
    pipe = model.base
    # From the model's own schedule, not the last run's scheduler (its overrides would leak).
    pipe.scheduler = make_scheduler(scheduler, model.scheduler_config)
    generators = [torch.Generator("cpu").manual_seed(seed + i) for i in range(len(cases))]
    with torch.inference_mode():
        images = pipe(
            prompt=[case.prompt for case in cases],
            num_inference_steps=steps,
            guidance_scale=guidance,
            generator=generators,
        ).images
    hits = dict.fromkeys(ASPECTS, 0)
    for case, image in zip(cases, images, strict=True):
        found = analyze(image)
        for aspect in ASPECTS:
            hits[aspect] += getattr(found, aspect) == getattr(case, aspect)
    return {aspect: hits[aspect] / len(cases) for aspect in ASPECTS}


def sweep_guidance(model: ResidentModel, cases: list[Case]) -> dict[str, dict[str, float]]:
    """Scores at each swept guidance, each prompt drawn with `GUIDANCE_DRAWS` seeds."""
    return {str(g): score(model, cases * GUIDANCE_DRAWS, guidance=g) for g in GUIDANCE_SWEEP}


def load(model: str) -> ResidentModel:
    """The model through the app's own library and loader, on the CPU in fp32."""
    placement = Placement.choose("fp32", "cpu")
    info = ModelLibrary().resolve(model)
    return ResidentModel(info, load_pipeline(info, placement), placement)


def run(model: str, prompts: int) -> dict[str, object]:
    resident = load(model)
    cases, held_out = evaluation_cases(prompts), held_out_cases(max(8, prompts // 2))
    started = time.time()
    report: dict[str, object] = {
        "prompts": len(cases),
        "held_out_prompts": len(held_out),
        "main": score(resident, cases),
        "held_out": score(resident, held_out),
        "guidance_draws": GUIDANCE_DRAWS,
        "guidance": sweep_guidance(resident, cases),
        "guidance_held_out": sweep_guidance(resident, held_out),
        "steps": {f"{s} {n}": score(resident, cases, scheduler=s, steps=n) for s, n in STEP_SWEEP},
    }
    report["seconds"] = round(time.time() - started)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="Evaluate prompt following on snail-mini's world.")
    parser.add_argument("--model", default="snail-mini")
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--write-card", action="store_true", help="store results with the model")
    args = parser.parse_args()
    report = run(args.model, args.prompts)
    print(format_report(report))
    if args.write_card:
        folder = ModelLibrary().resolve(args.model).path
        (folder / EVALUATION_FILE).write_text(json.dumps(report, indent=2))
        extras = json.loads((folder / PREVIEW_FILE).read_text())
        extras["defaults"] = {"guidance_scale": recommended_guidance(report)}
        (folder / PREVIEW_FILE).write_text(json.dumps(extras, indent=2))
        write_card(folder)


if __name__ == "__main__":
    main()
