"""`ComfyBackend`: the engine protocol over one or many ComfyUI servers.

A request of batch N becomes N one-image jobs (seed, seed+1, ...). Each job takes a free
server that has the model; when a server drops mid-job, the job runs again on another one,
and when none is left the whole generation fails with a line naming what was lost.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from PIL import Image

from studio.core.errors import (
    GenerationCancelled,
    ModelError,
    RequestError,
    ServerError,
    ServerUnavailableError,
)
from studio.core.features import BackendFeatures
from studio.core.models import ModelInfo
from studio.core.padding import work_size
from studio.core.request import GenerationRequest, Mode, resolve_request
from studio.core.results import GenerationResult, LoadProgress, StepUpdate
from studio.remote.catalog import ServerCatalog
from studio.remote.connection import Connection
from studio.remote.job import JobLimits, JobOutput, run_workflow
from studio.remote.pool import ServerPool
from studio.remote.samplers import to_comfy
from studio.remote.server import ServerConfig
from studio.remote.ui_workflow import NodeDefinitionCache
from studio.remote.uploads import Uploads
from studio.remote.workflows import build_workflow

log = logging.getLogger(__name__)

StepCallback = Callable[[StepUpdate], None]


class ComfyBackend:
    def __init__(
        self,
        servers: Sequence[ServerConfig],
        timeout: float = 10.0,
        limits: JobLimits | None = None,
    ) -> None:
        if not servers:
            raise ServerError("no ComfyUI server given")
        self.pool = ServerPool([Connection(server, timeout) for server in servers])
        self.limits = limits or JobLimits()
        self._uploads = Uploads()
        self._definitions = NodeDefinitionCache()

    @property
    def features(self) -> BackendFeatures:
        return BackendFeatures(remote=True, parallel_jobs=len(self.pool.connections))

    def close(self) -> None:
        self.pool.close()

    def models(self, on_progress: Callable[[int, int], None] | None = None) -> list[ModelInfo]:
        """Every model on any server that answers (the first server's entry for a shared name).
        The servers answer in one request each: there is no scan to follow."""
        return _listed(self.pool.refresh())

    def load_model(
        self, model: str, on_progress: Callable[[LoadProgress], None] | None = None
    ) -> ModelInfo:
        """ComfyUI loads on first use: this only checks that some server has `model` (nothing
        is read here, so there is no progress to report)."""
        return self._model_info(model, self.models())

    def describe(self, model: str) -> ModelInfo:
        """`model` as the servers list it (nothing is read: ComfyUI loads on first use)."""
        return self._model_info(model)

    def _model_info(self, model: str, known: list[ModelInfo] | None = None) -> ModelInfo:
        """`model` from what the servers last said, asking them again if it is not there."""
        known = known if known is not None else _listed(self.pool.catalogs())
        if model not in {info.id for info in known}:
            known = self.models()
        models = {info.id: info for info in known}
        info = models.get(model)
        if info is None:
            names = ", ".join(models) or "none"
            raise ModelError(f"model {model!r} is on none of the servers (they have: {names})")
        if info.problem:
            raise ModelError(f"{model}: {info.problem}")
        return info

    def generate(
        self,
        request: GenerationRequest,
        on_step: StepCallback | None = None,
        cancel: threading.Event | None = None,
        observers: Sequence[Any] = (),
    ) -> GenerationResult:
        """Run on the servers. `observers` need the engine's latents, which a server does not
        send (its `features` says so); they are not called."""
        started = time.perf_counter()
        cancel = cancel or threading.Event()
        # 1. Check inputs before any network traffic
        request.validate()
        to_comfy(request.scheduler)
        info = self._model_info(request.model)
        if request.scheduler not in info.samplers:
            raise RequestError(
                f"the {request.scheduler} sampler does not run {info.family_label}; use one of: "
                f"{', '.join(info.samplers)}"
            )
        request = resolve_request(request, info)
        request.validate()
        # 2. One job per image; every server with the model takes jobs until none is left
        seeds = [request.seed + i for i in range(request.batch_size)]
        jobs = [dataclasses.replace(request, seed=seed, batch_size=1) for seed in seeds]
        progress = _Progress(len(jobs), request.steps, started, on_step)
        stop = threading.Event()
        workers = max(1, len(self.pool.holders(request.model)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="comfyui-job") as pool:
            futures = [
                pool.submit(self._run_job, job, index, progress, cancel, stop)
                for index, job in enumerate(jobs)
            ]
            wait(futures, return_when=FIRST_EXCEPTION)
            stop.set()  # after a failure the other jobs stop; after success this is a no-op
            errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            # the first real failure, not the cancels it caused in the other jobs
            raise next((e for e in errors if not isinstance(e, GenerationCancelled)), errors[0])
        outputs = [future.result() for future in futures]
        finished = time.perf_counter()
        return GenerationResult(
            request=request,
            images=[
                _cropped(output.image, (request.width, request.height)) for output, _ in outputs
            ],
            seeds=seeds,
            timings={"total": finished - started},
            model_name=info.name,
            png_text=[output.png_text for output, _ in outputs],
            workers=[server for _, server in outputs],
        )

    def _run_job(
        self,
        job: GenerationRequest,
        index: int,
        progress: _Progress,
        cancel: threading.Event,
        stop: threading.Event,
    ) -> tuple[JobOutput, str]:
        halt = _Either(cancel, stop)
        tried: set[str] = set()
        failures: list[str] = []
        while True:
            connection = self.pool.acquire(job.model, tried, halt)
            if halt.is_set():
                if connection is not None:
                    self.pool.release(connection)
                raise GenerationCancelled()
            if connection is None:
                lost = "; ".join(failures) or "no server has it"
                raise ServerUnavailableError(
                    f"image {index + 1} (seed {job.seed}) not made: {lost}"
                )
            try:
                progress.restart(index, connection.name)
                workflow = self._workflow(connection, job)
                graph = self._definitions.ui_workflow(connection, workflow)
                output = run_workflow(
                    connection, workflow, progress.reporter(index), halt, self.limits, graph
                )
                self.pool.mark_up(connection)
                return output, connection.name
            except ServerUnavailableError as exc:
                self.pool.mark_down(connection)
                tried.add(connection.name)
                failures.append(str(exc))
                log.warning("%s; trying image %d on another server", exc, index + 1)
            except BaseException:
                stop.set()  # before the server is released to the next job of this batch
                raise
            finally:
                self.pool.release(connection)

    def _workflow(self, connection: Connection, job: GenerationRequest) -> dict:
        """The job's workflow for this server, with the parts of a diffusion model found
        there (servers may name their text encoders differently)."""
        try:
            model = self.pool.catalogs()[connection.name].source(job.model)
        except KeyError:
            raise ServerUnavailableError(f"{connection.name} no longer has {job.model}") from None
        if job.mode is Mode.TXT2IMG:
            return build_workflow(job, model)
        size = (job.width, job.height)
        work = work_size(size, model.size_multiple)
        image = self._uploads.image(connection, job.init_image, size, work)
        mask = None
        if job.mode is Mode.INPAINT:
            mask = self._uploads.mask(connection, job.mask, size, work)
        return build_workflow(job, model, image, mask)


def _listed(catalogs: dict[str, ServerCatalog]) -> list[ModelInfo]:
    """Each model once: the first server's entry, or the first that can run it."""
    seen: dict[str, ModelInfo] = {}
    for catalog in catalogs.values():
        for info in catalog.models():
            if info.id not in seen or (info.usable and not seen[info.id].usable):
                seen[info.id] = info
    return list(seen.values())


def _cropped(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """An input padded out to the model's size multiple comes back at its own size."""
    return image if image.size == size else image.crop((0, 0, *size))


class _Either:
    """Set when either event is: the caller's cancel, or a sibling job's failure."""

    def __init__(self, first: threading.Event, second: threading.Event) -> None:
        self.first, self.second = first, second

    def is_set(self) -> bool:
        return self.first.is_set() or self.second.is_set()


class _Progress:
    """Steps of all of a request's jobs as one count, and the servers running them, reported
    from any job's thread."""

    def __init__(self, jobs: int, steps: int, started: float, on_step: StepCallback | None):
        self.done = [0] * jobs
        self.totals = [steps] * jobs
        self.servers: dict[int, str] = {}
        self.started = started
        self.on_step = on_step
        self._lock = threading.Lock()

    def reporter(self, index: int) -> Callable[[int, int, bytes | None], None]:
        def report(step: int, total: int, preview: bytes | None) -> None:
            with self._lock:
                self.done[index], self.totals[index] = step, total
                done, total_all = sum(self.done), sum(self.totals)
                servers = tuple(sorted(set(self.servers.values())))
            if self.on_step is not None:
                elapsed = time.perf_counter() - self.started
                self.on_step(
                    StepUpdate(done, total_all, elapsed, _decode(preview), workers=servers)
                )

        return report

    def restart(self, index: int, server: str) -> None:
        """Job `index` starts (again) from step 0 on `server`."""
        with self._lock:
            self.done[index] = 0
            self.servers[index] = server


def _decode(preview: bytes | None) -> Image.Image | None:
    if preview is None:
        return None
    try:
        with Image.open(io.BytesIO(preview)) as image:
            return image.convert("RGB")
    except (OSError, ValueError, SyntaxError):
        return None  # a damaged preview is skipped; the final image is checked strictly
