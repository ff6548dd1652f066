"""Step previews made from the latents with a linear latent-to-RGB map (no VAE decode)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

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
    def for_model(cls, folder: Path | None, factors, bias) -> LatentPreviewer:
        """The model's own fitted factors when its folder ships them, else its family's."""
        if folder is not None:
            try:
                preview = json.loads((folder / PREVIEW_FILE).read_text())["preview"]
                return cls.from_values(preview["factors"], preview["bias"])
            except (OSError, ValueError, KeyError, TypeError):
                pass
        return cls.from_values(factors, bias)

    def __call__(self, latents: torch.Tensor, index: int = 0) -> Image.Image:
        latent = latents[index].detach().float()
        if latent.shape[0] != self.factors.shape[0]:
            latent = latent[: self.factors.shape[0]]
        rgb = torch.einsum("chw,cr->hwr", latent, self.factors) + self.bias
        pixels = ((rgb.clamp(-1, 1) + 1) * 127.5).to(torch.uint8).cpu().numpy()
        return Image.fromarray(np.ascontiguousarray(pixels), "RGB")
