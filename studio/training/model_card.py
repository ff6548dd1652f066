"""The model card (README.md) of the shipped snail-mini folder, from its stored facts."""

from __future__ import annotations

import json
from pathlib import Path

from studio.engine.previews import PREVIEW_FILE

EVALUATION_FILE = "evaluation.json"
ASPECTS = ("color", "shape", "position", "background")
TARGETS = {"color": 0.9, "shape": 0.7, "position": 0.8, "background": 0.9}
HELD_OUT_TARGETS = {"color": 0.8, "shape": 0.5}


def recommended_guidance(report: dict) -> float:
    """The swept guidance with the best mean score on the held-out combinations (lowest on ties)."""
    sweep = report["guidance"]
    best = max(sorted(sweep, key=float), key=lambda g: sum(sweep[g][a] for a in ASPECTS))
    return float(best)


def format_report(report: dict) -> str:
    def row(label: str, scores: dict[str, float]) -> str:
        return f"| {label} | " + " | ".join(f"{scores[a]:.0%}" for a in ASPECTS) + " |"

    def mean(guidance: str) -> float:
        return sum(report["guidance"][guidance].values()) / len(ASPECTS)

    best = recommended_guidance(report)
    draws = report["guidance_draws"]
    header = "| setting | color | shape | position | background |\n|---|---|---|---|---|"
    targets = [
        f"- {label} {aspect}: {report[key][aspect]:.0%} against {minimum:.0%}: "
        + ("met" if report[key][aspect] >= minimum else "**missed**")
        for key, label, goals in (
            ("main", "held-out combinations", TARGETS),
            ("held_out", "held-out pairs", HELD_OUT_TARGETS),
        )
        for aspect, minimum in goals.items()
    ]
    lines = [
        f"Held-out combinations: {report['prompts']} prompts; held-out pairs: "
        f"{report['held_out_prompts']} prompts (DDIM 20 steps, guidance 7.5).",
        "",
        header,
        row("held-out combinations", report["main"]),
        row("held-out pairs", report["held_out"]),
        "",
        f"Guidance scale (DDIM, 20 steps; each prompt with {draws} seeds, "
        f"{draws * report['prompts']} images a row):",
        "",
        header,
        *(row(f"guidance {g}", s) for g, s in report["guidance"].items()),
        "",
        f"The same on the held-out pairs ({draws * report['held_out_prompts']} images a row):",
        "",
        header,
        *(row(f"guidance {g}", s) for g, s in report["guidance_held_out"].items()),
        "",
        "Steps (guidance 7.5):",
        "",
        header,
        *(row(label, s) for label, s in report["steps"].items()),
        "",
        "Targets (DDIM 20 steps, guidance 7.5):",
        "",
        *targets,
        "",
        f"Best guidance in the sweep: {best:g} (mean of the four {mean(str(best)):.0%}; "
        f"guidance 1: {mean('1.0'):.0%}, guidance 7.5: {mean('7.5'):.0%}).",
        "The studio and the command line start from it when this model is chosen.",
    ]
    return "\n".join(lines)


def write_card(folder: Path) -> None:
    extras = json.loads((folder / PREVIEW_FILE).read_text())
    facts = extras["training"]
    vae = facts.get("vae", {})
    evaluation_path = folder / EVALUATION_FILE
    if evaluation_path.exists():
        evaluation = format_report(json.loads(evaluation_path.read_text()))
    else:
        evaluation = "Not evaluated yet: run `python -m studio.training.evaluate --write-card`."
    text = CARD.format(
        images=facts["images"],
        steps=facts["unet_steps"],
        start=start_phrase(facts.get("init")),
        hours=facts["unet_hours"],
        loss=facts["final_loss"],
        vae_steps=vae.get("steps", "?"),
        vae_psnr=vae.get("psnr_db", "?"),
        decoder_steps=vae.get("decoder_steps", 0),
        preview_rmse=extras["preview"]["rmse"],
        evaluation=evaluation,
    )
    (folder / "README.md").write_text(text)


def start_phrase(init: dict | None) -> str:
    if not init:
        return "from scratch"
    return (
        f"fine-tuned from an earlier model's weights ({init['unet_steps']} steps,"
        f" {init['unet_hours']} hours)"
    )


CARD = """# snail-mini

Snail Studio's own text-to-image model: a small latent diffusion model in the standard
diffusers Stable Diffusion layout, trained from scratch on a procedural world of coloured
shapes and three scenes. It ships with the app so that a fresh, offline machine can turn a
prompt into a matching picture at once. It knows nothing outside its world.

## What it draws
- Objects: circle, square, triangle, star; red, orange, yellow, green, blue, purple, white,
  black; small, medium (default) or large; at the top left, top, top right, left, center,
  right, bottom left, bottom, bottom right.
- Flat backgrounds of the same palette ("on a blue background"), two objects
  ("a red circle at the left and a blue square at the right"), and three scenes:
  "a sunset over mountains", "a night sky with stars", "a lake at dawn".
- Native size 64x64 pixels; the studio scales it up smoothly on screen.

## Architecture
| part | what |
|---|---|
| VAE | `AutoencoderKL`, 4 latent channels, scale factor 4 (64 px images, 16x16 latents) |
| text encoder | `CLIPTextModel`, 4 layers, width 128, 32 tokens, the real CLIP BPE tokenizer |
| UNet | `UNet2DConditionModel`, widths 64-128-128, cross-attention at 8x8 and 4x4 |
| schedule | 1000 steps, SD 1.x's betas rescaled to zero terminal SNR, v-prediction |

Weights are fp16 safetensors. Previews use latent-to-RGB factors fitted by least squares
(RMSE {preview_rmse} on a -1..1 scale), stored in `snail_studio.json`.

## Training
- Data: {images} rendered scenes, captioned afresh each time in several phrasings; position,
  background and size words are sometimes left out; 10% empty captions for
  classifier-free guidance. Four colour-shape pairs (purple star, green triangle, orange
  square, white circle) are never rendered, and one in eight single-object combinations of
  colour, shape, position and background is kept out for the evaluation.
- VAE: {vae_steps} steps of batch 16, L1 + MSE with a tiny KL term, then {decoder_steps}
  decoder-only steps on the frozen latents (sharper edges, same latent space); reconstruction
  PSNR {vae_psnr} dB. The decoder and the UNet learnt from posterior means only, so the
  export pins the encoder's log-variance to its floor: img2img and inpainting sample the
  posterior, and its untrained spread was as large as the latents (speckled results).
- UNet and text encoder together, {start}: {steps} steps of batch 64, AdamW 3e-4 with
  cosine decay, v-loss weight capped at SNR + 1 = 5 (min-SNR), EMA 0.999; {hours} hours on a
  2-core CPU, final loss {loss}.
- Why zero terminal SNR: the first run used SD 1.x's schedule with epsilon prediction. Its
  last timestep keeps 6.8% of the image, and the model learned to read the object's place
  from the starting noise: one seed put the object in the same place for all nine position
  words, and position scored at chance. With zero terminal SNR the last timestep holds no
  image, so the place has to come from the prompt. Samplers use trailing timesteps.
  Fine-tuned from that first model, it still let the seed decide after 1500 steps (1 or 2
  of the nine words followed for each of three seeds); by 2500 steps it followed all nine
  for all three, and its one-step guess at the last timestep (pure noise) already shows the
  object where the prompt puts it.
- bf16 autocast was measured slower than fp32 on that CPU for this size (1.93 s against
  1.51 s a step), so training ran in fp32.
- Reproduce: the first model came from `python -m studio.training.train` on SD 1.x's
  schedule (its folder is in git at commit 2aab235); this one from
  `python -m studio.training.train --run runs/snail-mini-v --init FIRST_MODEL_FOLDER
  --unet-steps {steps} --decoder-steps {decoder_steps}`; then
  `python -m studio.training.export --run runs/snail-mini-v` and
  `python -m studio.training.evaluate --write-card`. A run from scratch on this schedule
  (`python -m studio.training.train`) has not been tried yet.

## Evaluation
Judged by a deterministic scene analyzer (`studio/training/analyzer.py`): foreground by colour
distance to the palette, shape from the object's outline, position from its box on a 3x3
grid. On rendered ground truth it scores 100% on all four.

{evaluation}

Colour, place and background come out right even unguided: the prompt decides them from
the first step. Guidance sharpens the outline up to the sweet spot; past it, it overshoots
(squares grow notches, stars lose points) and at 30 the colours burn out. That is why the
sweet spot sits far below Stable Diffusion's usual 7.5.

Samplers, measured once on the 64 held-out combinations (20 steps, guidance 7.5; colour,
shape, position, background): DDIM 100/73/100/100, and DDPM, Euler, Euler a and DPM++ 2M
within a point of it; UniPC 97/66/100/100. LMS (44/42/80/66), PNDM (19/38/59/66) and
DPM++ 2M Karras (66/48/75/86) break on this zero-terminal-SNR schedule, so the studio does
not offer them for this model.
"""
