"""Step previews made from the latents with a linear latent-to-RGB map (no VAE decode)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

# Published SD 1.x factors: rows are latent channels, columns R, G, B.
SD1_FACTORS = (
    (0.3512, 0.2297, 0.3227),
    (0.3250, 0.4974, 0.2350),
    (-0.2829, 0.1762, 0.2721),
    (-0.2120, -0.2616, -0.7177),
)
SD1_BIAS = (0.0, 0.0, 0.0)
PREVIEW_FILE = "snail_studio.json"


@dataclass(frozen=True)
class LatentPreviewer:
    """Maps latents (B, C, h, w) to an RGB image the size of the latents."""

    factors: torch.Tensor  # (C, 3)
    bias: torch.Tensor  # (3,)

    @classmethod
    def from_values(cls, factors, bias) -> LatentPreviewer:
        return cls(
            torch.tensor(factors, dtype=torch.float32), torch.tensor(bias, dtype=torch.float32)
        )

    @classmethod
    def for_model(cls, folder: Path | None) -> LatentPreviewer:
        """The model's own fitted factors when it ships them, else SD 1.x's."""
        if folder is not None:
            try:
                preview = json.loads((folder / PREVIEW_FILE).read_text())["preview"]
                return cls.from_values(preview["factors"], preview["bias"])
            except (OSError, ValueError, KeyError, TypeError):
                pass
        return cls.from_values(SD1_FACTORS, SD1_BIAS)

    def __call__(self, latents: torch.Tensor, index: int = 0) -> Image.Image:
        latent = latents[index].detach().float()
        if latent.shape[0] != self.factors.shape[0]:
            latent = latent[: self.factors.shape[0]]
        rgb = torch.einsum("chw,cr->hwr", latent, self.factors) + self.bias
        pixels = ((rgb.clamp(-1, 1) + 1) * 127.5).to(torch.uint8).cpu().numpy()
        return Image.fromarray(np.ascontiguousarray(pixels), "RGB")
