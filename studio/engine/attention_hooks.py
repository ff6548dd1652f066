"""How `AttentionRecorder` watches a denoiser: the hooks a family's adapter chooses for its
denoiser (a UNet's cross-attention processors, an MMDiT's joint attention), and what the
hooks share.

Hooks are installed for one run, hand the recorder one (tokens, h, w) map per step at the
latent grid, and are removed after the run. `text` says where each tokenizer's tokens sit in
the context the attention reads, so that the prompt's words find their positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention

from studio.engine.steps import StepRecord


@dataclass(frozen=True)
class ContextTokens:
    """One tokenizer's part of the text context: its token i is context position offset + i."""

    tokenizer: Any
    offset: int = 0


class AttentionHooks(Protocol):
    text: tuple[ContextTokens, ...]

    def install(self, pipe: Any) -> None: ...

    def step_maps(self, step: StepRecord) -> torch.Tensor | None:
        """(context tokens, h, w) at the latent grid: this step's layers averaged; None when
        nothing was seen. Starts the next step afresh."""
        ...

    def remove(self, pipe: Any) -> None: ...


def prompt_row(pipe: Any, batch: int) -> int:
    """The batch row of the first image's prompt: classifier-free guidance batches the
    negative prompt's rows first."""
    guided = getattr(pipe, "do_classifier_free_guidance", False)
    return batch // 2 if guided else 0


def to_latent_grid(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(tokens, h, w) maps scaled bilinearly to (tokens, *size)."""
    return F.interpolate(maps[:, None], size=size, mode="bilinear")[:, 0]
