"""Write the shipped snail-mini folder: a standard diffusers Stable Diffusion folder.

    python -m studio.training.export --run runs/snail-mini --out studio/resources/models/snail-mini

fp16 safetensors weights, a VAE whose posterior is its mean, DDIM as the default scheduler,
the fitted latent-to-RGB preview factors and the training facts in `snail_studio.json`, and
the model card.
"""

from __future__ import annotations

import argparse
import json
import pickle
from pathlib import Path

import numpy as np
import torch
from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
from transformers import CLIPTextModel, CLIPTokenizer

from studio.core.paths import RESOURCES
from studio.engine.previews import PREVIEW_FILE
from studio.training import architecture
from studio.training.model_card import write_card
from studio.training.train import run_facts

PREVIEW_SAMPLES = 2048
LOGVAR_FLOOR = -30.0  # diffusers clamps the posterior's log-variance to [-30, 20]


def main() -> None:
    parser = argparse.ArgumentParser(description="Export snail-mini as a diffusers folder.")
    parser.add_argument("--run", type=Path, default=Path("runs/snail-mini"))
    parser.add_argument("--out", type=Path, default=RESOURCES / "models" / "snail-mini")
    args = parser.parse_args()
    export(args.run, args.out)


def export(run: Path, out: Path) -> None:
    vae = AutoencoderKL.from_pretrained(run / "vae").eval()
    make_posterior_deterministic(vae)
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=CLIPTextModel.from_pretrained(run / "text_encoder"),
        tokenizer=CLIPTokenizer.from_pretrained(run / "tokenizer"),
        unet=UNet2DConditionModel.from_pretrained(run / "unet"),
        scheduler=architecture.build_inference_scheduler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    with (run / "scenes.pkl").open("rb") as handle:
        scenes = pickle.load(handle)
    preview = fit_preview_factors(vae, scenes)
    pipe.to(torch.float16).save_pretrained(out, safe_serialization=True)
    extras = {
        "name": "snail-mini",
        "family": "snail-mini",
        "native_size": [architecture.IMAGE_SIZE, architecture.IMAGE_SIZE],
        "preview": preview,
        "training": {"images": len(scenes.specs), **run_facts(run)},
    }
    (out / PREVIEW_FILE).write_text(json.dumps(extras, indent=2))
    write_card(out)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"wrote {out} ({size / 2**20:.1f} MiB)")


@torch.no_grad()
def make_posterior_deterministic(vae: AutoencoderKL) -> None:
    """Pin the encoder's log-variance to its floor, so a sample of the posterior is its mean.

    The decoder and the UNet learnt from posterior means only, so nothing but the tiny KL term
    shaped the log-variance half of `quant_conv`: it drifted to a standard deviation near 1,
    as large as the latents themselves. img2img and inpainting sample the posterior and would
    start from that noise.
    """
    channels = vae.config.latent_channels
    vae.quant_conv.weight[channels:] = 0.0
    vae.quant_conv.bias[channels:] = LOGVAR_FLOOR


@torch.no_grad()
def fit_preview_factors(vae: AutoencoderKL, scenes) -> dict[str, list]:
    """Least squares from (scaled) latents to the images shrunk to latent size, in [-1, 1]."""
    index = np.arange(min(PREVIEW_SAMPLES, len(scenes.images)))
    pixels = scenes.pixels(index)
    latents = vae.encode(pixels).latent_dist.mode() * vae.config.scaling_factor
    small = torch.nn.functional.avg_pool2d(pixels, architecture.VAE_SCALE)
    x = latents.permute(0, 2, 3, 1).reshape(-1, latents.shape[1])
    x = torch.cat([x, torch.ones(len(x), 1)], dim=1)
    y = small.permute(0, 2, 3, 1).reshape(-1, 3)
    solution = torch.linalg.lstsq(x, y).solution
    residual = (x @ solution - y).pow(2).mean().sqrt().item()
    print(f"preview factors fitted on {len(index)} images, RMSE {residual:.3f} (range -1..1)")
    return {
        "factors": [[round(v, 5) for v in row] for row in solution[:-1].tolist()],
        "bias": [round(v, 5) for v in solution[-1].tolist()],
        "rmse": round(residual, 4),
    }


if __name__ == "__main__":
    main()
