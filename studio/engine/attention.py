"""Cross-attention maps: where in the image each word of the prompt looked.

`AttentionRecorder` is a `StepObserver` for UNet models (SD 1.x/2.x, SDXL): for the run it
wraps each cross-attention processor, recomputes softmax(QK^T) for the prompt's (conditional)
half of the batch, averages it over heads, and sums it per resolution; at each step it turns
the layers at useful resolutions into one (tokens, h, w) map at the latent size. The wrapped
processors produce exactly what the originals did, and they are put back afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention
from PIL import Image

from studio.engine.steps import StepRecord

# Layers coarser than a quarter of the latent side say little about where a word is.
MIN_SIDE_FRACTION = 4
CROSS_ATTENTION = re.compile(r"attn2\.processor$")
WORD_END = "</w>"
OVERLAY_OPACITY = 0.6


@dataclass(frozen=True)
class WordMap:
    word: str
    tokens: tuple[int, ...]  # positions in the prompt's token sequence (0 is the start token)
    heat: np.ndarray  # (h, w) at the latent size, 0..1 after normalising


class _RecordingProcessor:
    def __init__(self, inner: Any, recorder: AttentionRecorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, *args, **kwargs):
        if encoder_hidden_states is not None and hidden_states.ndim == 3:
            self.recorder._observe(attn, hidden_states, encoder_hidden_states)
        return self.inner(attn, hidden_states, encoder_hidden_states, *args, **kwargs)


class AttentionRecorder:
    def __init__(self) -> None:
        self.steps: dict[int, torch.Tensor] = {}  # step -> (tokens, h, w)
        # positions -> (sum over layers of (tokens, positions) maps, number of layers)
        self._pending: dict[int, tuple[torch.Tensor, int]] = {}
        self._pipe: Any = None
        self._saved: dict[str, Any] | None = None

    # -- StepObserver ----------------------------------------------------------------------

    def attach(self, pipe: Any) -> None:
        self._pipe, self.steps, self._pending = pipe, {}, {}
        self._saved = dict(pipe.unet.attn_processors)
        wrapped = {
            name: _RecordingProcessor(processor, self)
            if CROSS_ATTENTION.search(name)
            else processor
            for name, processor in self._saved.items()
        }
        pipe.unet.set_attn_processor(wrapped)

    def record(self, step: StepRecord) -> None:
        height, width = step.latents.shape[-2:]
        maps = []
        for positions, (summed, layers) in self._pending.items():
            scale = (height * width / positions) ** 0.5
            h, w = round(height / scale), round(width / scale)
            if h * MIN_SIDE_FRACTION < height:
                continue
            grid = summed.reshape(-1, 1, h, w) / layers
            maps.append(F.interpolate(grid, size=(height, width), mode="bilinear")[:, 0])
        if maps:
            self.steps[step.step] = torch.stack(maps).mean(0)
        self._pending = {}

    def detach(self, pipe: Any) -> None:
        if self._saved is not None:
            pipe.unet.set_attn_processor(self._saved)
            self._saved = None

    # -- reading ---------------------------------------------------------------------------

    def token_maps(self, step: int | None = None) -> torch.Tensor:
        """(tokens, h, w): one step's maps, or the mean over all steps."""
        if not self.steps:
            raise RuntimeError("no attention was recorded")
        if step is not None:
            return self.steps[step]
        return torch.stack(list(self.steps.values())).mean(0)

    def word_maps(self, prompt: str, step: int | None = None) -> list[WordMap]:
        """One map per word of `prompt` (its tokens summed), each normalised to 0..1."""
        maps = self.token_maps(step)
        words = []
        for word, positions in prompt_words(self._pipe.tokenizer, prompt):
            usable = [p for p in positions if p < maps.shape[0]]
            if not usable:
                continue  # past the text encoder's length
            heat = maps[usable].sum(0).float().cpu().numpy()
            low, high = heat.min(), heat.max()
            words.append(WordMap(word, tuple(usable), (heat - low) / max(high - low, 1e-12)))
        return words

    # -- the processors' hook --------------------------------------------------------------

    def _observe(self, attn: Any, hidden_states: torch.Tensor, context: torch.Tensor) -> None:
        batch = hidden_states.shape[0]
        guided = getattr(self._pipe, "do_classifier_free_guidance", False)
        row = batch // 2 if guided else 0  # the first image's prompt half
        query = attn.head_to_batch_dim(attn.to_q(hidden_states[row : row + 1]))
        key = attn.head_to_batch_dim(attn.to_k(context[row : row + 1]))
        probs = attn.get_attention_scores(query, key, None).float().mean(0)  # (positions, tokens)
        positions = probs.shape[0]
        summed, layers = self._pending.get(positions, (0, 0))
        self._pending[positions] = (summed + probs.T, layers + 1)


def prompt_words(tokenizer: Any, prompt: str) -> list[tuple[str, list[int]]]:
    """The prompt's words with their token positions (after the start token)."""
    ids = tokenizer(prompt, truncation=True).input_ids
    tokens = tokenizer.convert_ids_to_tokens(ids)
    words, current, positions = [], "", []
    for position, token in enumerate(tokens[1:-1], start=1):
        current += token.removesuffix(WORD_END)
        positions.append(position)
        if token.endswith(WORD_END):
            words.append((current, positions))
            current, positions = "", []
    if positions:
        words.append((current, positions))
    return words


def overlay(image: Image.Image, heat: np.ndarray, opacity: float = OVERLAY_OPACITY) -> Image.Image:
    """The heat map (0..1) in a dark-red-yellow ramp over the image."""
    size = image.size
    resized = Image.fromarray((heat * 255).astype(np.uint8)).resize(size, Image.Resampling.BILINEAR)
    value = np.asarray(resized, dtype=np.float32)[..., None] / 255
    ramp = np.concatenate(
        [np.clip(value * 2, 0, 1), np.clip(value * 2 - 1, 0, 1), np.clip(value * 4 - 3, 0, 1)],
        axis=-1,
    )
    base = np.asarray(image.convert("RGB"), dtype=np.float32) / 255
    mixed = (1 - opacity) * base + opacity * ramp
    return Image.fromarray((mixed * 255).round().astype(np.uint8), "RGB")
