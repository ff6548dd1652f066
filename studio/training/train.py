"""Train snail-mini: the VAE first, then the text encoder and UNet together on cached latents.

    python -m studio.training.train --run runs/snail-mini --unet-steps 6000

Every stage checkpoints into the run folder and resumes from there, so an interrupted run
goes on where it stopped, and a larger step count goes on training. The last stage sharpens
the decoder on the frozen latents; it depends only on the VAE, so it can run alone first
(`--unet-steps 0`). `--init SOURCE` starts from another run or a shipped model folder: the
UNet and text encoder from its weights, and the VAE too while this run has none.
`python -m studio.training.export` then writes the shipped folder.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import pickle
import random
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.training_utils import EMAModel
from tqdm import tqdm
from transformers import CLIPTextModel

from studio.engine.previews import PREVIEW_FILE
from studio.training import architecture
from studio.training.dataset import SceneSet

# Min-SNR-style weighting of the v-loss, which weighs the x0 error by SNR + 1: capped at
# gamma, so nearly clean timesteps do not dominate a small step budget, while the noisiest
# ones (where the layout is decided) keep full weight.
MIN_SNR_GAMMA = 5.0
INIT_FILE = "init.json"
VAE_BATCH = 16
DECODER_SAVE_EVERY = 500


def main() -> None:
    parser = argparse.ArgumentParser(description="Train snail-mini on the procedural world.")
    parser.add_argument("--run", type=Path, default=Path("runs/snail-mini"))
    parser.add_argument("--images", type=int, default=60_000)
    parser.add_argument("--vae-steps", type=int, default=1500)
    parser.add_argument("--unet-steps", type=int, default=6000)
    parser.add_argument("--decoder-steps", type=int, default=8000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--init",
        type=Path,
        help="fine-tune from another run or a shipped model folder (its VAE, UNet, text encoder)",
    )
    args = parser.parse_args()
    args.run.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(args.seed)

    scenes = load_or_render(args.run / "scenes.pkl", args.images, args.seed)
    if args.init:
        adopt_vae(args.init, args.run)
    vae = train_vae(args.run, scenes, args.vae_steps)
    latents = encode_latents(args.run / "latents.pt", vae, scenes)
    train_unet(args, scenes, latents)
    refine_decoder(args.run, scenes, latents, args.decoder_steps)


def load_or_render(path: Path, count: int, seed: int) -> SceneSet:
    if path.exists():
        with path.open("rb") as handle:
            return pickle.load(handle)
    started = time.time()
    scenes = SceneSet.generate(count, seed, architecture.IMAGE_SIZE)
    with path.open("wb") as handle:
        pickle.dump(scenes, handle)
    print(f"rendered {count} scenes in {time.time() - started:.0f} s", flush=True)
    return scenes


def train_vae(run: Path, scenes: SceneSet, steps: int) -> AutoencoderKL:
    final = run / "vae"
    if (final / "config.json").exists():
        return AutoencoderKL.from_pretrained(final).eval()
    vae = architecture.build_vae()
    started = time.time()
    optimizer = torch.optim.AdamW(vae.parameters(), lr=2e-3, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    rng = np.random.default_rng(1)
    bar = tqdm(range(steps), desc="vae", mininterval=5)
    for _ in bar:
        x = scenes.pixels(rng.integers(0, len(scenes.images), VAE_BATCH))
        # The diffusion model is trained on posterior means, so the decoder learns from those:
        # sampling here only blurred the reconstructions of a small, briefly trained VAE.
        posterior = vae.encode(x).latent_dist
        reconstruction = vae.decode(posterior.mode()).sample
        loss = F.l1_loss(reconstruction, x) + F.mse_loss(reconstruction, x)
        loss = loss + 1e-6 * posterior.kl().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
    vae.eval()
    psnr = reconstruction_psnr(vae, scenes)
    print(f"vae reconstruction PSNR on 256 training images: {psnr:.1f} dB", flush=True)
    vae.save_pretrained(final)
    facts = {
        "steps": steps,
        "psnr_db": round(psnr, 1),
        "hours": round((time.time() - started) / 3600, 2),
    }
    (final / "training.json").write_text(json.dumps(facts))
    return vae


def adopt_vae(source: Path, run: Path) -> None:
    """Take `source`'s VAE (loaded in fp32, whatever it was saved in) and its training facts,
    unless this run has a VAE already."""
    final = run / "vae"
    if (final / "config.json").exists():
        return
    AutoencoderKL.from_pretrained(source / "vae").save_pretrained(final)
    (final / "training.json").write_text(json.dumps(source_facts(source)["vae"]))


def source_facts(source: Path) -> dict:
    """What trained `source`: the facts a shipped folder carries, or a run's logs."""
    shipped = source / PREVIEW_FILE
    if shipped.exists():
        return json.loads(shipped.read_text())["training"]
    return run_facts(source)


def run_facts(run: Path) -> dict:
    """A run's VAE facts, where it started, and its UNet stage's steps, hours and final loss."""
    with (run / "loss.csv").open() as handle:
        rows = list(csv.reader(handle))
    vae_facts = run / "vae" / "training.json"
    init_facts = run / INIT_FILE
    return {
        "vae": json.loads(vae_facts.read_text()) if vae_facts.exists() else {},
        "init": json.loads(init_facts.read_text()) if init_facts.exists() else None,
        "unet_steps": int(rows[-1][0]),
        "unet_hours": log_hours(rows),
        "final_loss": round(float(np.mean([float(row[1]) for row in rows[-200:]])), 4),
    }


def refine_decoder(run: Path, scenes: SceneSet, latents: torch.Tensor, steps: int) -> None:
    """Sharpen the decoder on the frozen latents the UNet learned: edges and star points get
    crisper while everything the UNet knows stays valid. Goes on from the steps already done
    until `steps` in all, saving every `DECODER_SAVE_EVERY` steps."""
    facts_path = run / "vae" / "training.json"
    facts = json.loads(facts_path.read_text())
    done = facts.get("decoder_steps", 0)
    if done >= steps:
        return
    vae = AutoencoderKL.from_pretrained(run / "vae")
    decoder = [*vae.post_quant_conv.parameters(), *vae.decoder.parameters()]
    optimizer = torch.optim.AdamW(decoder, lr=5e-4, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps - done)
    rng = np.random.default_rng(2 + done)
    scale = vae.config.scaling_factor
    for step in tqdm(range(done + 1, steps + 1), desc="decoder", initial=done, total=steps):
        index = rng.integers(0, len(latents), VAE_BATCH)
        x = scenes.pixels(index)
        reconstruction = vae.decode(latents[index] / scale).sample
        loss = F.l1_loss(reconstruction, x) + F.mse_loss(reconstruction, x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % DECODER_SAVE_EVERY == 0 or step == steps:
            vae.save_pretrained(run / "vae")
            facts.update(decoder_steps=step)
            facts_path.write_text(json.dumps(facts))
    vae.eval()
    facts.update(psnr_db=round(reconstruction_psnr(vae, scenes), 1))
    facts_path.write_text(json.dumps(facts))
    print(f"decoder refined: PSNR {facts['psnr_db']} dB", flush=True)


@torch.no_grad()
def reconstruction_psnr(vae: AutoencoderKL, scenes: SceneSet) -> float:
    x = scenes.pixels(np.arange(256))
    error = F.mse_loss(vae.decode(vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1), x)
    return 10 * math.log10(4 / error.item())


@torch.no_grad()
def encode_latents(path: Path, vae: AutoencoderKL, scenes: SceneSet) -> torch.Tensor:
    """Posterior means for every image, scaled to unit variance (the VAE's scaling factor)."""
    if path.exists():
        return torch.load(path)
    chunks = []
    for start in tqdm(range(0, len(scenes.images), 256), desc="encode", mininterval=5):
        index = np.arange(start, min(start + 256, len(scenes.images)))
        chunks.append(vae.encode(scenes.pixels(index)).latent_dist.mode())
    latents = torch.cat(chunks)
    scaling = 1.0 / latents.std().item()
    vae.register_to_config(scaling_factor=scaling)
    vae.save_pretrained(path.parent / "vae")
    latents = latents * scaling
    torch.save(latents, path)
    print(f"encoded {len(latents)} latents, scaling factor {scaling:.4f}", flush=True)
    return latents


def train_unet(args: argparse.Namespace, scenes: SceneSet, latents: torch.Tensor) -> None:
    tokenizer = architecture.build_tokenizer()
    text_encoder = architecture.build_text_encoder(tokenizer)
    unet = architecture.build_unet()
    noise_scheduler = architecture.build_noise_scheduler()
    parameters = [*unet.parameters(), *text_encoder.parameters()]
    optimizer = torch.optim.AdamW(parameters, lr=args.lr, weight_decay=1e-2)
    state_path = args.run / "unet-state.pt"
    if args.init and not state_path.exists():
        start_from(args.init, args.run, unet, text_encoder)
    ema = EMAModel(parameters, decay=0.999, use_ema_warmup=True)
    step = 0
    if state_path.exists():
        state = torch.load(state_path, weights_only=False)
        unet.load_state_dict(state["unet"])
        text_encoder.load_state_dict(state["text_encoder"])
        optimizer.load_state_dict(state["optimizer"])
        ema.load_state_dict(state["ema"])
        step = state["step"]
    alphas = noise_scheduler.alphas_cumprod
    snr = alphas / (1 - alphas)
    caption_rng = random.Random(args.seed + step)
    index_rng = np.random.default_rng(args.seed + step)
    log_path = args.run / "loss.csv"
    bar = tqdm(total=args.unet_steps, initial=step, desc="unet", mininterval=10)
    with log_path.open("a", newline="") as log_file:
        log = csv.writer(log_file)
        while step < args.unet_steps:
            set_lr(optimizer, args.lr, step, args.unet_steps)
            index = index_rng.integers(0, len(latents), args.batch)
            ids = tokenizer(
                scenes.captions(index, caption_rng),
                padding="max_length",
                max_length=tokenizer.model_max_length,
                truncation=True,
                return_tensors="pt",
            ).input_ids
            x0 = latents[index]
            noise = torch.randn_like(x0)
            t = torch.randint(0, noise_scheduler.config.num_train_timesteps, (len(x0),))
            xt = noise_scheduler.add_noise(x0, noise, t)
            prediction = unet(xt, t, text_encoder(ids)[0]).sample
            target = noise_scheduler.get_velocity(x0, noise, t)
            weight = torch.clamp(snr[t] + 1, max=MIN_SNR_GAMMA) / (snr[t] + 1)
            per_sample = F.mse_loss(prediction, target, reduction="none").mean(dim=(1, 2, 3))
            loss = (weight * per_sample).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            ema.step(parameters)
            step += 1
            log.writerow([step, f"{loss.item():.5f}", f"{time.time():.1f}"])
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if step % args.checkpoint_every == 0 or step == args.unet_steps:
                log_file.flush()
                save_state(state_path, unet, text_encoder, optimizer, ema, step)
                save_ema_weights(args.run, unet, text_encoder, tokenizer, ema, parameters)


def start_from(source: Path, run: Path, unet, text_encoder) -> None:
    """Load `source`'s weights and record where this run started for the model card."""
    unet.load_state_dict(UNet2DConditionModel.from_pretrained(source / "unet").state_dict())
    text_encoder.load_state_dict(
        CLIPTextModel.from_pretrained(source / "text_encoder").state_dict()
    )
    facts = source_facts(source)
    init = {key: facts[key] for key in ("unet_steps", "unet_hours")}
    (run / INIT_FILE).write_text(json.dumps({"run": str(source), **init}))


def log_hours(rows: list[list[str]]) -> float:
    """Wall time of a loss log, counting only gaps under a minute (not pauses between runs)."""
    gaps = np.diff([float(row[2]) for row in rows])
    return round(float(gaps[gaps < 60].sum()) / 3600, 2)


def set_lr(optimizer: torch.optim.Optimizer, peak: float, step: int, total: int) -> None:
    """Linear warm-up for 200 steps, then cosine decay to a tenth of the peak."""
    if step < 200:
        lr = peak * (step + 1) / 200
    else:
        progress = (step - 200) / max(1, total - 200)
        lr = peak * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))
    for group in optimizer.param_groups:
        group["lr"] = lr


def save_state(path: Path, unet, text_encoder, optimizer, ema, step: int) -> None:
    state = {
        "unet": unet.state_dict(),
        "text_encoder": text_encoder.state_dict(),
        "optimizer": optimizer.state_dict(),
        "ema": ema.state_dict(),
        "step": step,
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def save_ema_weights(run: Path, unet, text_encoder, tokenizer, ema, parameters) -> None:
    """Write the EMA weights as diffusers/transformers folders the exporter reads."""
    ema.store(parameters)
    ema.copy_to(parameters)
    unet.save_pretrained(run / "unet")
    text_encoder.save_pretrained(run / "text_encoder")
    tokenizer.save_pretrained(run / "tokenizer")
    ema.restore(parameters)


if __name__ == "__main__":
    main()
