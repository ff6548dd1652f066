"""Attention hooks for UNet models (SD 1.x/2.x, SDXL): their cross-attention processors.

For the run each cross-attention processor (`attn2`) is wrapped: the wrapper recomputes
softmax(QK^T) for the prompt's (conditional) half of the batch, averages it over heads, and
sums it per resolution; at each step the layers at useful resolutions become one map at the
latent size. The wrapped processors produce exactly what the originals did, and they are
put back afterwards.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from studio.engine.attention_hooks import ContextTokens, prompt_row, to_latent_grid
from studio.engine.steps import StepRecord

# Layers coarser than a quarter of the latent side say little about where a word is.
MIN_SIDE_FRACTION = 4
CROSS_ATTENTION = re.compile(r"attn2\.processor$")


class _RecordingProcessor:
    def __init__(self, inner: Any, hooks: UNetCrossAttention) -> None:
        self.inner = inner
        self.hooks = hooks

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, *args, **kwargs):
        if encoder_hidden_states is not None and hidden_states.ndim == 3:
            self.hooks._observe(attn, hidden_states, encoder_hidden_states)
        return self.inner(attn, hidden_states, encoder_hidden_states, *args, **kwargs)


class UNetCrossAttention:
    def __init__(self, text: tuple[ContextTokens, ...]) -> None:
        self.text = text
        # positions -> (sum over layers of (tokens, positions) maps, number of layers)
        self._pending: dict[int, tuple[torch.Tensor, int]] = {}
        self._pipe: Any = None
        self._saved: dict[str, Any] | None = None

    def install(self, pipe: Any) -> None:
        self._pipe, self._pending = pipe, {}
        self._saved = dict(pipe.unet.attn_processors)
        wrapped = {
            name: _RecordingProcessor(processor, self)
            if CROSS_ATTENTION.search(name)
            else processor
            for name, processor in self._saved.items()
        }
        pipe.unet.set_attn_processor(wrapped)

    def step_maps(self, step: StepRecord) -> torch.Tensor | None:
        height, width = step.latents.shape[-2:]
        maps = []
        for positions, (summed, layers) in self._pending.items():
            scale = (height * width / positions) ** 0.5
            h, w = round(height / scale), round(width / scale)
            if h * MIN_SIDE_FRACTION < height:
                continue
            maps.append(to_latent_grid(summed.reshape(-1, h, w) / layers, (height, width)))
        self._pending = {}
        return torch.stack(maps).mean(0) if maps else None

    def remove(self, pipe: Any) -> None:
        if self._saved is not None:
            pipe.unet.set_attn_processor(self._saved)
            self._saved = None

    def _observe(self, attn: Any, hidden_states: torch.Tensor, context: torch.Tensor) -> None:
        row = prompt_row(self._pipe, hidden_states.shape[0])
        query = attn.head_to_batch_dim(attn.to_q(hidden_states[row : row + 1]))
        key = attn.head_to_batch_dim(attn.to_k(context[row : row + 1]))
        probs = attn.get_attention_scores(query, key, None).float().mean(0)  # (positions, tokens)
        positions = probs.shape[0]
        summed, layers = self._pending.get(positions, (0, 0))
        self._pending[positions] = (summed + probs.T, layers + 1)
