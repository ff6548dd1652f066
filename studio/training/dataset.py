"""The training set: rendered scenes kept in memory, captioned afresh every time they are drawn."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

from studio.training.captions import caption
from studio.training.world import SceneSpec, render, sample_scene

CAPTION_DROPOUT = 0.1  # an empty caption teaches the unconditional branch for guidance


@dataclass
class SceneSet:
    specs: list[SceneSpec]
    images: np.ndarray  # (N, H, W, 3) uint8

    @classmethod
    def generate(cls, count: int, seed: int, size: int) -> SceneSet:
        rng = random.Random(seed)
        specs = [sample_scene(rng, seed * 1_000_003 + i) for i in range(count)]
        images = np.stack([np.asarray(render(spec, size)) for spec in specs])
        return cls(specs, images)

    def pixels(self, indices: np.ndarray) -> torch.Tensor:
        """Images as a float batch in [-1, 1], channels first."""
        batch = torch.from_numpy(self.images[indices]).permute(0, 3, 1, 2).float()
        return batch / 127.5 - 1.0

    def captions(self, indices: np.ndarray, rng: random.Random) -> list[str]:
        return [
            "" if rng.random() < CAPTION_DROPOUT else caption(self.specs[i], rng) for i in indices
        ]
