"""What seeing the diffusion costs on snail-mini: the timeline and attention maps.

    python tests/benchmarks/sight_overhead.py [--runs 7] [--steps 20]

(OMP_NUM_THREADS=1 on a shared CPU, as for engine_overhead.py.)

Runs the same request plain, with a `Timeline`, and with an `AttentionRecorder`, interleaved.
Prints one JSON line last: median time ratios against plain (attention target <= 1.20),
the timeline's bytes per step, and the ms to decode one kept step with the VAE.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from studio.core.request import GenerationRequest  # noqa: E402
from studio.engine import Engine, ModelLibrary  # noqa: E402
from studio.engine.attention import AttentionRecorder  # noqa: E402
from studio.engine.devices import Placement  # noqa: E402
from studio.engine.timeline import Timeline  # noqa: E402


def timed(engine: Engine, request: GenerationRequest, observers: list) -> float:
    started = time.perf_counter()
    engine.generate(request, on_step=lambda update: None, observers=observers)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
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
