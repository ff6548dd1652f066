"""A small SD1.5-layout single-file checkpoint with random weights, for a real ComfyUI server.

Run it with the ComfyUI venv that `../shared/comfyui/setup.sh` builds, then link the file in:

    /tmp/comfy/venv/bin/python tests/remote/make_tiny_checkpoint.py /tmp/comfy/tiny-sd15.safetensors
    COMFY_MODEL=/tmp/comfy/tiny-sd15.safetensors bash ../shared/comfyui/setup.sh

It is built from ComfyUI's own classes in the original key layout, so ComfyUI detects it as
SD1.5 (its test is the UNet's 320 base channels and a 768-wide context): a full-size CLIP-L
text encoder and VAE, and a UNet cut to two levels with one block each (about 314 M
parameters in all, 630 MB in fp16). Images are coloured noise; every node of the pipeline runs.
"""

from __future__ import annotations

import sys

COMFY_TREE = "/tmp/comfy/ComfyUI"


def main(out: str) -> None:
    sys.path.insert(0, COMFY_TREE)
    sys.argv = [sys.argv[0], "--cpu"]  # ComfyUI reads its device from the command line
    import comfy.options

    comfy.options.enable_args_parsing()
    import comfy.ops
    import torch
    from comfy.ldm.models.autoencoder import AutoencoderKL
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel
    from safetensors.torch import save_file
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    unet = UNetModel(
        image_size=32,
        in_channels=4,
        out_channels=4,
        model_channels=320,
        num_res_blocks=[1, 1],
        channel_mult=[1, 2],
        num_heads=8,
        use_spatial_transformer=True,
        transformer_depth=[1, 1],
        transformer_depth_output=[1, 1, 1, 1],
        transformer_depth_middle=1,
        context_dim=768,
        use_linear_in_transformer=False,
        legacy=False,
        operations=comfy.ops.manual_cast,
    )
    vae = AutoencoderKL(
        ddconfig={"double_z": True, "z_channels": 4, "resolution": 256, "in_channels": 3,
                  "out_ch": 3, "ch": 128, "ch_mult": [1, 2, 4, 4], "num_res_blocks": 2,
                  "attn_resolutions": [], "dropout": 0.0},
        embed_dim=4,
    )  # fmt: skip
    clip = CLIPTextModel(
        CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                       num_attention_heads=12, max_position_embeddings=77, vocab_size=49408,
                       projection_dim=768, hidden_act="quick_gelu")
    )  # fmt: skip
    for module in (unet, vae):  # ComfyUI's ops skip initialisation: give every weight a scale
        with torch.no_grad():
            for name, p in module.named_parameters():
                if p.dim() > 1:
                    p.normal_(0, p[0].numel() ** -0.5)
                elif name.endswith("weight"):
                    p.fill_(1.0)
                else:
                    p.zero_()
    prefixed = {
        "model.diffusion_model.": unet.state_dict(),
        "first_stage_model.": vae.state_dict(),
        "cond_stage_model.transformer.": clip.state_dict(),
    }
    state = {
        prefix + key: (value.half() if value.is_floating_point() else value).contiguous()
        for prefix, tensors in prefixed.items()
        for key, value in tensors.items()
    }
    save_file(state, out)
    print(f"{out}: {len(state)} tensors, {sum(v.numel() for v in state.values()) / 1e6:.0f} M")


if __name__ == "__main__":
    main(sys.argv[1])
