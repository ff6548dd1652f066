"""What seeing the diffusion costs on snail-mini: the timeline and attention maps.

    python tests/benchmarks/sight_overhead.py [--runs 7] [--steps 20]
    python tests/benchmarks/sight_overhead.py --joint [--runs 7]

(OMP_NUM_THREADS=1 on a shared CPU, as for engine_overhead.py.)

Runs the same request plain, with a `Timeline`, and with an `AttentionRecorder`, interleaved.
Prints one JSON line last: median time ratios against plain (attention target <= 1.20),
the timeline's bytes per step, and the ms to decode one kept step with the VAE.

`--joint` times instead one denoiser call of random transformers shaped like SD3 (joint
blocks, a guided batch of two) and FLUX.1 (double- and single-stream blocks 1:2), narrowed to
run on a CPU, at 512 px with their text lengths, plain and with the attention hooks their
adapters install; it prints the median ratios. The denoiser alone, without text encoders and
VAE, so the ratio is an upper bound on a whole run's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import torch
from diffusers import FluxTransformer2DModel, SD3Transformer2DModel

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from studio.core.request import GenerationRequest  # noqa: E402
from studio.engine import Engine, ModelLibrary  # noqa: E402
from studio.engine.attention import AttentionRecorder  # noqa: E402
from studio.engine.devices import Placement  # noqa: E402
from studio.engine.families import attention_hooks  # noqa: E402
from studio.engine.steps import StepRecord  # noqa: E402
from studio.engine.timeline import Timeline  # noqa: E402


def timed(engine: Engine, request: GenerationRequest, observers: list) -> float:
    started = time.perf_counter()
    engine.generate(request, on_step=lambda update: None, observers=observers)
    return time.perf_counter() - started


def sd3_shaped() -> tuple[torch.nn.Module, dict, bool]:
    torch.manual_seed(0)
    transformer = SD3Transformer2DModel(
        sample_size=64, patch_size=2, in_channels=16, out_channels=16, num_layers=6,
        attention_head_dim=64, num_attention_heads=6, joint_attention_dim=256,
        caption_projection_dim=384, pooled_projection_dim=128, pos_embed_max_size=64,
    )  # fmt: skip
    call = {
        "hidden_states": torch.randn(2, 16, 64, 64),  # 512 px, guided: two rows
        "encoder_hidden_states": torch.randn(2, 77 + 256, 256),
        "pooled_projections": torch.randn(2, 128),
        "timestep": torch.tensor([500.0, 500.0]),
    }
    return transformer, call, True


def flux_shaped() -> tuple[torch.nn.Module, dict, bool]:
    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=64, num_layers=2, num_single_layers=4, attention_head_dim=64,
        num_attention_heads=6, joint_attention_dim=256, pooled_projection_dim=128,
        axes_dims_rope=(16, 24, 24),
    )  # fmt: skip
    img_ids = torch.zeros(32, 32, 3)
    img_ids[..., 1] += torch.arange(32)[:, None]
    img_ids[..., 2] += torch.arange(32)[None, :]
    call = {
        "hidden_states": torch.randn(1, 32 * 32, 64),  # 512 px, packed
        "encoder_hidden_states": torch.randn(1, 512, 256),
        "pooled_projections": torch.randn(1, 128),
        "timestep": torch.tensor([0.5]),
        "img_ids": img_ids.reshape(-1, 3),
        "txt_ids": torch.zeros(512, 3),
    }
    return transformer, call, False


def joint_ratios(runs: int) -> dict[str, float]:
    ratios = {}
    for name, build in (("sd3", sd3_shaped), ("flux", flux_shaped)):
        transformer, call, guided = build()
        pipe = SimpleNamespace(
            transformer=transformer, do_classifier_free_guidance=guided, tokenizer=None,
            tokenizer_2=None, tokenizer_3=None, text_encoder_3=None, tokenizer_max_length=77,
        )  # fmt: skip
        hooks = attention_hooks(pipe)
        step = StepRecord(1, 1, 0.0, call["hidden_states"], None)

        def forward(hooked: bool, hooks=hooks, transformer=transformer, call=call, step=step):
            started = time.perf_counter()
            transformer(**call)
            if hooked:
                hooks.step_maps(step)
            return time.perf_counter() - started

        times: dict[bool, list[float]] = {False: [], True: []}
        with torch.inference_mode():
            for run in range(runs + 1):  # the first is a warm-up
                for hooked in (False, True):
                    if hooked:
                        hooks.install(pipe)
                    elapsed = forward(hooked)
                    if hooked:
                        hooks.remove(pipe)
                    if run:
                        times[hooked].append(elapsed)
        ratios[f"{name}_attention_ratio"] = round(
            statistics.median(times[True]) / statistics.median(times[False]), 4
        )
        print({k: round(statistics.median(v), 3) for k, v in times.items()}, file=sys.stderr)
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--joint", action="store_true", help="SD3/FLUX-shaped transformers")
    args = parser.parse_args()
    if args.joint:
        print(json.dumps({**joint_ratios(args.runs), "runs": args.runs}))
        return
    engine = Engine(ModelLibrary(), Placement.choose("fp32", "cpu"))
    request = GenerationRequest(
        "a red circle at the left on a blue background", seed=1, steps=args.steps
    )
    timeline = Timeline()
    kinds = {
        "plain": list,
        "timeline": lambda: [timeline],
        "attention": lambda: [AttentionRecorder()],
    }
    for make in kinds.values():
        timed(engine, request, make())  # warm up
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(args.runs):
        for kind, make in kinds.items():
            times[kind].append(timed(engine, request, make()))
        print({k: round(v[-1], 3) for k, v in times.items()}, file=sys.stderr)
    plain = statistics.median(times["plain"])
    decode = []
    for step in timeline.steps:
        started = time.perf_counter()
        timeline.decode(step)
        decode.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "plain_median_s": round(plain, 3),
                "timeline_ratio": round(statistics.median(times["timeline"]) / plain, 4),
                "attention_ratio": round(statistics.median(times["attention"]) / plain, 4),
                "timeline_bytes_per_step": timeline.nbytes // len(timeline.steps),
                "decode_ms_per_step": round(statistics.median(decode) * 1000, 2),
                "runs": args.runs,
                "steps": args.steps,
            }
        )
    )


if __name__ == "__main__":
    main()
