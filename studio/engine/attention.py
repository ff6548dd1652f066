"""Cross-attention maps: where in the image each word of the prompt looked.

`AttentionRecorder` is a `StepObserver`. For the run it asks the model's family adapter how
its denoiser's attention is hooked (`FamilyAdapter.attention_hooks`: a UNet's cross-attention
processors, an MMDiT's joint attention) and keeps each step's (tokens, h, w) map at the latent
grid, averaged over heads and layers. The image is left exactly as it would have been, and
the hooks are removed afterwards, also when the run fails or is cancelled.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from studio.engine.attention_hooks import AttentionHooks, ContextTokens
from studio.engine.families import attention_hooks
from studio.engine.steps import StepRecord

OVERLAY_OPACITY = 0.6
# A word: letters and digits, or a run of punctuation (as a click in the prompt selects one).
WORD = re.compile(r"\w+|[^\w\s]+")


@dataclass(frozen=True)
class WordMap:
    word: str
    tokens: tuple[int, ...]  # positions in the attention's text context (0 is CLIP's start token)
    heat: np.ndarray  # (h, w) at the latent size, 0..1 after normalising


class AttentionRecorder:
    def __init__(self) -> None:
        self.steps: dict[int, torch.Tensor] = {}  # step -> (tokens, h, w)
        self._hooks: AttentionHooks | None = None  # kept after the run: it knows the words

    # -- StepObserver ----------------------------------------------------------------------

    def attach(self, pipe: Any) -> None:
        self.steps = {}
        self._hooks = attention_hooks(pipe)
        self._hooks.install(pipe)

    def record(self, step: StepRecord) -> None:
        maps = self._hooks.step_maps(step)
        if maps is not None:
            self.steps[step.step] = maps

    def detach(self, pipe: Any) -> None:
        if self._hooks is not None:
            self._hooks.remove(pipe)

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
        for word, positions in prompt_words(self._hooks.text, prompt):
            usable = [p for p in positions if p < maps.shape[0]]
            if not usable:
                continue  # past the text encoders' length
            heat = maps[usable].sum(0).float().cpu().numpy()
            low, high = heat.min(), heat.max()
            words.append(WordMap(word, tuple(usable), (heat - low) / max(high - low, 1e-12)))
        return words


def prompt_words(text: Sequence[ContextTokens], prompt: str) -> list[tuple[str, list[int]]]:
    """The prompt's words (lower case) with their positions in the text context.

    Each tokenizer's tokens join the words their characters overlap (its offsets), whatever
    its convention (CLIP ends a word with "</w>", T5's sentencepiece begins one with "▁"), so
    a word reads the same for every model. With several tokenizers (SD3: CLIP, then T5) a
    word gets the positions of both: its map sums the attention paid to either encoding of it.
    Special tokens (start, end, padding) belong to no word.
    """
    spans = [(match.start(), match.end()) for match in WORD.finditer(prompt)]
    positions: list[list[int]] = [[] for _ in spans]
    for part in text:
        encoded = part.tokenizer(prompt, truncation=True, return_offsets_mapping=True)
        for index, (start, end) in enumerate(encoded.offset_mapping):
            for word, (word_start, word_end) in enumerate(spans):
                if start < word_end and end > word_start:
                    positions[word].append(part.offset + index)
    return [
        (prompt[start:end].lower(), found)
        for (start, end), found in zip(spans, positions, strict=True)
        if found
    ]


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
