"""Checkpoints in the layouts users' single files have (A1111/Civitai, Stability, BFL, ComfyUI),
written from diffusers/transformers state dicts; real, header-only or full-size random files."""
