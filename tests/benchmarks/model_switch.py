"""Switching models: warm switches from the memory cache, a cold load, memory drift over many
switches, and a warm listing of a 200-file model folder.

    python tests/benchmarks/model_switch.py [--work DIR] [--switches 20]

Three full-size SD 1.5-architecture models (random weights, the single file of
`model_load.py`, hard-linked under three names) are switched among through `Engine.load_model`
as the window's worker does, twice: with a memory budget that holds all three (every switch
after the first round is warm), and with one that holds two (every switch evicts one model
and loads another: where a leak would show). Prints one JSON line last: `warm_switch_ms`
(median switch to a cached model; target <= 500), `cold_load_s`, `memory_drift_pct` (process
memory after the evicting switches against after their first round; target <= 5),
`scan_warm_ms` (listing 200 files whose identities are cached; target < 1000), `scan_cold_ms`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from studio.core.identity_cache import IdentityCache  # noqa: E402
from studio.engine import Engine, ModelLibrary  # noqa: E402
from studio.engine.devices import Placement  # noqa: E402
from tests.benchmarks.model_load import prepare  # noqa: E402
from tests.checkpoints.files import write_header_only  # noqa: E402
from tests.checkpoints.full_size import original_checkpoint  # noqa: E402


def rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def three_models(work: Path) -> Path:
    single, _ = prepare(work)
    folder = work / "three"
    folder.mkdir(exist_ok=True)
    for name in ("alpha", "beta", "gamma"):
        link = folder / f"{name}.safetensors"
        if not link.exists():
            os.link(single, link)
    return folder


def scan_times(work: Path) -> tuple[float, float]:
    tree = work / "two-hundred"
    if not tree.exists():
        layout = original_checkpoint("v1")
        for index in range(200):
            folder = tree / f"group-{index // 20}"
            folder.mkdir(parents=True, exist_ok=True)
            write_header_only(folder / f"model-{index:03}.safetensors", layout, torch.float16)
    cache_db = work / "identity.sqlite"
    cache_db.unlink(missing_ok=True)
    timings = []
    for _ in range(2):
        library = ModelLibrary([tree], work / "none", IdentityCache(cache_db))
        started = time.perf_counter()
        assert len(library.models()) == 200
        timings.append((time.perf_counter() - started) * 1000)
    return timings[0], timings[1]


def switch_around(engine: Engine, names: list[str], switches: int) -> tuple[list[float], float]:
    """One round to load the three, then `switches` switches: their times (ms) and the
    process memory's change against after the first round (%)."""
    for name in names:
        engine.load_model(name)
    gc.collect()
    after_first_round = rss_bytes()
    times = []
    for index in range(switches):
        name = names[index % len(names)]
        started = time.perf_counter()
        engine.load_model(name)
        times.append((time.perf_counter() - started) * 1000)
        print(f"switch {index + 1} to {name}: {times[-1]:.2f} ms", file=sys.stderr)
    gc.collect()
    return times, (rss_bytes() - after_first_round) / after_first_round * 100


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=Path("/tmp/snail-bench-model-load"))
    parser.add_argument("--switches", type=int, default=20)
    args = parser.parse_args()
    scan_cold_ms, scan_warm_ms = scan_times(args.work)
    folder = three_models(args.work)
    # As the app keeps them: what each file is and its hash, remembered (the hash is taken on
    # the first load only).
    library = ModelLibrary([folder], args.work / "none", IdentityCache(args.work / "switch.sqlite"))
    names = ["alpha", "beta", "gamma"]
    engine = Engine(library, Placement.choose("fp32", "cpu"), ram_budget_bytes=16 * 10**9)
    started = time.perf_counter()
    engine.load_model(names[0])
    cold_load_s = time.perf_counter() - started
    warm, warm_drift = switch_around(engine, names, args.switches)
    del engine
    gc.collect()
    evicting = Engine(library, Placement.choose("fp32", "cpu"), ram_budget_bytes=9 * 10**9)
    cold, drift = switch_around(evicting, names, args.switches)
    print(
        json.dumps(
            {
                "warm_switch_ms": round(statistics.median(warm), 3),
                "warm_switch_max_ms": round(max(warm), 3),
                "cold_load_s": round(cold_load_s, 2),
                "evicting_switch_s": round(statistics.median(cold) / 1000, 2),
                "memory_drift_pct": round(drift, 2),
                "memory_drift_warm_pct": round(warm_drift, 2),
                "scan_warm_ms": round(scan_warm_ms, 1),
                "scan_cold_ms": round(scan_cold_ms, 1),
                "switches": args.switches,
            }
        )
    )


if __name__ == "__main__":
    main()
