"""Loading models and keeping one resident, with its mode variants sharing its modules."""

from __future__ import annotations

import dataclasses
import gc
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from diffusers import DiffusionPipeline

from studio.core.errors import ModelError
from studio.core.models import ModelInfo
from studio.core.request import Mode
from studio.core.results import LoadProgress
from studio.engine.devices import MEMORY_HEADROOM, Placement, available_memory
from studio.engine.families import FamilyAdapter, adapter_for
from studio.engine.previews import LatentPreviewer
from studio.engine.warm import read_through

log = logging.getLogger(__name__)


class ResidentModel:
    """A loaded model: one base pipeline; img2img and inpaint made with `from_pipe` (no copies)."""

    def __init__(self, info: ModelInfo, base: DiffusionPipeline, placement: Placement) -> None:
        self.info = info
        self.base = base
        self.placement = placement
        self.adapter: FamilyAdapter = adapter_for(info)
        self.previewer: LatentPreviewer = self.adapter.previewer(info)
        # Schedulers are rebuilt per request from the model's own training schedule; keep it
        # apart from the pipeline's scheduler, which each request replaces.
        self.scheduler_config = base.scheduler.config
        self._variants: dict[Mode, DiffusionPipeline] = {}
        self.users = 0  # generations running on it: never evicted while above 0

    @contextmanager
    def in_use(self) -> Iterator[ResidentModel]:
        self.users += 1
        try:
            yield self
        finally:
            self.users -= 1

    def pipeline(self, mode: Mode) -> DiffusionPipeline:
        if mode not in self._variants:
            variant = self.adapter.mode_pipeline(self.base, mode, self.info)
            if variant is not self.base:
                variant.set_progress_bar_config(disable=True)
            self._variants[mode] = variant
        return self._variants[mode]


def load_pipeline(info: ModelInfo, placement: Placement) -> DiffusionPipeline:
    """Load a model from local files only; any failure becomes one-line `ModelError`."""
    if info.problem is not None:
        raise ModelError(f"{info.name}: {info.problem}")
    needed, available = info.memory_bytes or 0, available_memory()
    if needed > available * MEMORY_HEADROOM:
        raise ModelError(
            f"{info.name}: needs about {needed / 1e9:.1f} GB of memory for its weights; "
            f"{available / 1e9:.1f} GB is available now"
        )
    try:
        pipe = adapter_for(info).load(info, placement)
    except ModelError:
        raise
    except Exception as exc:  # diffusers raises many kinds; all mean "broken model"
        raise ModelError(f"cannot load model '{info.id}': {_reason(exc, info)}") from exc
    pipe.to(placement.device)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _reason(exc: Exception, info: ModelInfo) -> str:
    """diffusers' message in one line, paths inside the model's folder given relative to it
    and said once (it writes "for '<file>' at '<file>'")."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    folder = info.path if info.path.is_dir() else info.path.parent
    line = line.replace(f"{folder}/", "")
    return re.sub(r"for '([^']+)' at '\1'", r"for '\1'", line)


class ModelCache:
    """Keeps recently used models in memory under a budget, least recently used out first
    (A1111's checkpoint cache): switching back to a cached model costs nothing. A model in use
    is never evicted. When a load fails, a model evicted to make room for it comes back, and
    the failure is reported (IOPaint's way)."""

    def __init__(
        self,
        placement: Placement,
        budget_bytes: int,
        remember_hash: Callable[[Path, str], None] | None = None,
    ) -> None:
        self.placement = placement
        self.budget = budget_bytes
        self.remember_hash = remember_hash
        self.current: ResidentModel | None = None
        self._resident: OrderedDict[Path, ResidentModel] = OrderedDict()

    @property
    def resident(self) -> list[ModelInfo]:
        """The cached models, least recently used first."""
        return [model.info for model in self._resident.values()]

    def find(self, ref: str) -> ResidentModel | None:
        """The cached model whose id or path is `ref`."""
        return next(
            (m for m in self._resident.values() if ref in (m.info.id, str(m.info.path))), None
        )

    def get(
        self, info: ModelInfo, on_progress: Callable[[LoadProgress], None] | None = None
    ) -> ResidentModel:
        cached = self._resident.get(info.path)
        if cached is not None:
            self._resident.move_to_end(info.path)
            self.current = cached
            return cached
        previous = self.current.info if self.current is not None else None
        self._make_room(info.memory_bytes or 0)
        try:
            digest = read_through(info, on_progress, digest=_wants_hash(info))
            if digest is not None:
                info = dataclasses.replace(info, short_hash=digest[:10])
                if self.remember_hash is not None:
                    self.remember_hash(info.path, digest)
            loaded = self._load(info)
        except ModelError:
            if previous is not None and previous.path not in self._resident:
                try:
                    self.current = self._load(previous)
                    self._resident[previous.path] = self.current
                except ModelError:
                    log.exception("could not restore the previous model %s", previous.id)
            raise
        self._resident[info.path] = self.current = loaded
        return loaded

    def _make_room(self, needed: int) -> None:
        """Evict least recently used models until `needed` bytes fit the budget and the
        machine's available memory."""
        for path, model in list(self._resident.items()):
            used = sum(m.info.memory_bytes or 0 for m in self._resident.values())
            fits_budget = used + needed <= self.budget
            if fits_budget and needed <= available_memory() * MEMORY_HEADROOM:
                return
            if model.users:
                continue
            del self._resident[path]
            if self.current is model:
                self.current = None
            del model
            gc.collect()

    def _load(self, info: ModelInfo) -> ResidentModel:
        placement = self.placement.for_model(info.parameters)
        return ResidentModel(info, load_pipeline(info, placement), placement)


def _wants_hash(info: ModelInfo) -> bool:
    return info.short_hash is None and info.path.is_file()
