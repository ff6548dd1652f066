"""What a generation reports while it runs and when it ends."""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from studio.core.request import GenerationRequest


@dataclass(frozen=True)
class StepUpdate:
    """One denoising step done, with small RGB images made from the latents: `preview` shows
    the model's estimate of the clean image (x0), `noisy_preview` the noisy latents (x_t).
    `workers` names the servers doing the work (none on this machine)."""

    step: int
    total: int
    elapsed: float
    preview: Image.Image | None = None
    noisy_preview: Image.Image | None = None
    workers: tuple[str, ...] = ()

    @property
    def fraction(self) -> float:
        return self.step / self.total if self.total else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, estimated from the pace so far; None before the first step."""
        if self.step <= 0:
            return None
        return self.elapsed / self.step * (self.total - self.step)


@dataclass(frozen=True)
class LoadProgress:
    """A model being read from disk: `done` of `total` bytes."""

    model: str
    done: int
    total: int

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


@dataclass(frozen=True)
class GenerationResult:
    """Finished images with their seeds; `request` is resolved (concrete seed and size).

    `png_text` holds, per image, extra PNG text chunks its maker adds to ours (a ComfyUI
    server's `prompt` and `workflow`); `workers` names, per image, where it was made.
    """

    request: GenerationRequest
    images: list[Image.Image]
    seeds: list[int]
    timings: dict[str, float] = field(default_factory=dict)
    model_name: str = ""
    model_hash: str = ""  # AUTOMATIC1111's short hash of a single-file model, when known
    lora_hashes: dict[str, str] = field(default_factory=dict)  # LoRA name: short hash
    png_text: list[dict[str, str]] = field(default_factory=list)
    workers: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.timings.get("total", 0.0)
