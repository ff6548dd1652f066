"""The ComfyUI client against a bare script posting the same workflow to the same server.

    python tests/benchmarks/remote_overhead.py [--url http://127.0.0.1:8188] [--model NAME]
                                               [--runs 5] [--steps 4] [--size 64]

Both sides keep one websocket open for the whole benchmark. Each run, interleaved, the bare
side POSTs the workflow `build_workflow` makes, waits for `executing node=null` on its socket,
and fetches the image (`/history`, `/view`); our side calls `ComfyBackend.generate` with previews
on. Every run has its own seed, so the server never answers from its cache. Preview latency is
the time from a step's preview frame reaching our socket thread to `on_step` being called with
it decoded. Prints one JSON line last: median wall-time ratio
client/bare (target <= 1.03), the time each side spends outside the server's execution
(robust to the CPU being shared), and preview latency per step.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from studio.core.request import GenerationRequest  # noqa: E402
from studio.remote import ComfyBackend, ServerConfig  # noqa: E402
from studio.remote.families import Checkpoint  # noqa: E402
from studio.remote.workflows import SAVE_NODE, build_workflow  # noqa: E402


class BareClient:
    """What a person would write against ComfyUI's API: no previews, no retries."""

    def __init__(self, url: str) -> None:
        self.client_id = uuid.uuid4().hex
        ws_url = url.replace("http", "ws", 1)
        self.socket = connect(f"{ws_url}/ws?clientId={self.client_id}", max_size=None).__enter__()
        self.http = httpx.Client(base_url=url, timeout=60)

    def run(self, workflow: dict) -> str:
        body = {"prompt": workflow, "client_id": self.client_id}
        prompt_id = self.http.post("/prompt", json=body).json()["prompt_id"]
        while True:
            message = self.socket.recv()
            if isinstance(message, bytes):
                continue
            event = json.loads(message)
            data = event.get("data", {})
            if (
                event["type"] == "executing"
                and data.get("node") is None
                and data.get("prompt_id") == prompt_id
            ):
                break
        record = self.http.get(f"/history/{prompt_id}").json()[prompt_id]
        image = record["outputs"][SAVE_NODE]["images"][0]
        self.http.get("/view", params=image).raise_for_status()
        return prompt_id

    def server_seconds(self, prompt_id: str) -> float:
        """From `execution_start` to `execution_success`, by the server's own clock."""
        record = self.http.get(f"/history/{prompt_id}").json()[prompt_id]
        stamps = {kind: data["timestamp"] for kind, data in record["status"]["messages"]}
        return (stamps["execution_success"] - stamps["execution_start"]) / 1000

    def close(self) -> None:
        self.socket.close()
        self.http.close()


class LatencyProbe:
    """Wraps the connection's dispatch to note when each step's preview frame arrived."""

    def __init__(self, backend: ComfyBackend) -> None:
        self.arrived: dict[int, float] = {}
        self.latencies: list[float] = []
        self.prompt_id = ""
        self.step = 0
        connection = backend.pool.connections[0]
        dispatch = connection._dispatch

        def timed(message):
            if isinstance(message, bytes):
                self.arrived[self.step] = time.perf_counter()
            elif '"progress"' in message[:20]:
                self.step = json.loads(message)["data"]["value"]
            elif '"execution_start"' in message[:30]:
                self.prompt_id = json.loads(message)["data"]["prompt_id"]
            dispatch(message)

        connection._dispatch = timed

    def on_step(self, update) -> None:
        now = time.perf_counter()
        assert update.preview is not None, "a step without its preview"
        self.latencies.append(now - self.arrived.pop(update.step))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8188")
    parser.add_argument("--model")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()

    backend = ComfyBackend([ServerConfig(args.url)], timeout=60)
    model = args.model or next(m.id for m in backend.models() if m.usable)
    probe = LatencyProbe(backend)
    bare = BareClient(args.url)
    seeds = random.sample(range(2**31), 2 * args.runs + 2)

    def request(seed: int) -> GenerationRequest:
        return GenerationRequest(
            prompt="a red square on blue",
            model=model,
            scheduler="Euler",
            steps=args.steps,
            width=args.size,
            height=args.size,
            seed=seed,
        )

    # warm up both paths (model load, first-step costs) outside the measurement
    bare.run(build_workflow(request(seeds.pop()), Checkpoint.named(model)))
    backend.generate(request(seeds.pop()))

    bare_times, client_times, bare_extra, client_extra = [], [], [], []
    for run in range(args.runs):
        order = ("bare", "client") if run % 2 == 0 else ("client", "bare")
        for side in order:
            job = request(seeds.pop())
            started = time.perf_counter()
            if side == "bare":
                prompt_id = bare.run(build_workflow(job, Checkpoint.named(model)))
                bare_times.append(time.perf_counter() - started)
                bare_extra.append(bare_times[-1] - bare.server_seconds(prompt_id))
            else:
                backend.generate(job, on_step=probe.on_step)
                client_times.append(time.perf_counter() - started)
                client_extra.append(client_times[-1] - bare.server_seconds(probe.prompt_id))
        b, c = bare_times[-1], client_times[-1]
        print(
            f"run {run + 1}: bare {b:.3f} s  client {c:.3f} s  ratio {c / b:.3f}", file=sys.stderr
        )
    bare.close()
    backend.close()
    # On a shared CPU the server's own time swings by seconds between runs; the time outside
    # the server's execution (HTTP, websocket, uploads, fetching) is what each client adds.
    extra_ms = 1000 * (statistics.median(client_extra) - statistics.median(bare_extra))

    ratios = [c / b for b, c in zip(bare_times, client_times, strict=True)]
    latencies_ms = sorted(1000 * x for x in probe.latencies)
    print(
        json.dumps(
            {
                "server": ServerConfig(args.url).name,
                "model": model,
                "runs": args.runs,
                "steps": args.steps,
                "size": args.size,
                "bare_s_median": round(statistics.median(bare_times), 3),
                "client_s_median": round(statistics.median(client_times), 3),
                "ratio_of_medians": round(
                    statistics.median(client_times) / statistics.median(bare_times), 4
                ),
                "ratio_median": round(statistics.median(ratios), 4),
                "ratios": [round(r, 4) for r in ratios],
                "bare_outside_server_ms_median": round(1000 * statistics.median(bare_extra), 1),
                "client_outside_server_ms_median": round(1000 * statistics.median(client_extra), 1),
                "client_extra_ms": round(extra_ms, 1),
                "client_extra_fraction_of_bare": round(
                    extra_ms / 1000 / statistics.median(bare_times), 4
                ),
                "preview_latency_ms_median": round(statistics.median(latencies_ms), 2),
                "preview_latency_ms_max": round(latencies_ms[-1], 2),
                "previews": len(latencies_ms),
            }
        )
    )


if __name__ == "__main__":
    main()
