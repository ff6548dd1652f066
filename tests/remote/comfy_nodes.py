"""The stock nodes the client uses, as ComfyUI 0.3.75's `/object_info` describes them (from
its `nodes.py` and `comfy_extras/`; tooltips left out, sampler list shortened). Input order,
input kinds and outputs were compared with what 0.3.75's own node classes report. Nodes in
the newer schema (TripleCLIPLoader, EmptySD3LatentImage, FluxGuidance, ImageBlur) give a combo
as `["COMBO", {"options": [...]}]`, the others as `[[...]]` or `[[...], {...}]`; an input
without options is a one-element list, as the real server sends it.
"""

from __future__ import annotations

from typing import Any

SAMPLERS = [
    "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2",
    "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral",
    "dpmpp_sde", "dpmpp_2m", "dpmpp_2m_sde", "dpmpp_3m_sde", "ddpm", "lcm", "ipndm", "deis",
    "ddim", "uni_pc", "uni_pc_bh2",
]  # fmt: skip
SCHEDULERS = [
    "simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
    "linear_quadratic", "kl_optimal",
]  # fmt: skip
MAX = 16384


def _int(default: int, low: int, high: int = MAX, **more: Any) -> list[Any]:
    return ["INT", {"default": default, "min": low, "max": high, **more}]


def _float(default: float, low: float, high: float) -> list[Any]:
    return ["FLOAT", {"default": default, "min": low, "max": high, "step": 0.01}]


def _node(
    name: str,
    required: dict[str, Any],
    output: list[str],
    optional: dict[str, Any] | None = None,
    output_node: bool = False,
) -> dict[str, Any]:
    inputs: dict[str, Any] = {"required": required}
    if optional:
        inputs["optional"] = optional
    return {
        "input": inputs,
        "input_order": {group: list(specs) for group, specs in inputs.items()},
        "output": output,
        "output_is_list": [False] * len(output),
        "output_name": output,
        "name": name,
        "display_name": name,
        "description": "",
        "python_module": "nodes",
        "category": "",
        "output_node": output_node,
    }


def definitions(
    checkpoints: list[str],
    diffusion_models: list[str],
    text_encoders: list[str],
    vaes: list[str],
    loras: list[str],
    inputs: list[str],
) -> dict[str, dict[str, Any]]:
    """Every node the fake server knows, with the given file lists in its choosers."""
    clip = ["CLIP", {}]
    cond = ["CONDITIONING", {}]
    latent = ["LATENT", {}]
    image, model, vae = ["IMAGE", {}], ["MODEL", {}], ["VAE", {}]
    te = [list(text_encoders)]
    te_v3 = ["COMBO", {"options": list(text_encoders)}]
    size = {"width": _int(512, 16, step=8), "height": _int(512, 16, step=8)}
    size_16 = {"width": _int(1024, 16, step=16), "height": _int(1024, 16, step=16)}
    nodes = [
        _node(
            "CheckpointLoaderSimple",
            {"ckpt_name": [list(checkpoints), {}]},
            ["MODEL", "CLIP", "VAE"],
        ),
        _node(
            "UNETLoader",
            {
                "unet_name": [list(diffusion_models)],
                "weight_dtype": [["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]],
            },
            ["MODEL"],
        ),
        _node(
            "CLIPLoader",
            {"clip_name": te, "type": [["stable_diffusion", "sd3", "flux2"]]},
            ["CLIP"],
            {"device": [["default", "cpu"], {"advanced": True}]},
        ),
        _node(
            "DualCLIPLoader",
            {
                "clip_name1": te,
                "clip_name2": te,
                "type": [["sdxl", "sd3", "flux", "hunyuan_video", "hidream"]],
            },
            ["CLIP"],
            {"device": [["default", "cpu"], {"advanced": True}]},
        ),
        _node(
            "TripleCLIPLoader",
            {"clip_name1": te_v3, "clip_name2": te_v3, "clip_name3": te_v3},
            ["CLIP"],
        ),
        _node("VAELoader", {"vae_name": [[*vaes, "pixel_space"]]}, ["VAE"]),
        _node(
            "LoraLoader",
            {
                "model": model,
                "clip": clip,
                "lora_name": [list(loras), {}],
                "strength_model": _float(1.0, -100, 100),
                "strength_clip": _float(1.0, -100, 100),
            },
            ["MODEL", "CLIP"],
        ),
        _node(
            "CLIPTextEncode",
            {"text": ["STRING", {"multiline": True}], "clip": clip},
            ["CONDITIONING"],
        ),
        _node(
            "FluxGuidance",
            {"conditioning": cond, "guidance": _float(3.5, 0, 100)},
            ["CONDITIONING"],
        ),
        _node("ModelSamplingSD3", {"model": ["MODEL"], "shift": _float(3.0, 0, 100)}, ["MODEL"]),
        _node("EmptyLatentImage", {**size, "batch_size": _int(1, 1, 4096)}, ["LATENT"]),
        _node("EmptySD3LatentImage", {**size_16, "batch_size": _int(1, 1, 4096)}, ["LATENT"]),
        _node(
            "KSampler",
            {
                "model": model,
                "seed": _int(0, 0, 0xFFFFFFFFFFFFFFFF, control_after_generate=True),
                "steps": _int(20, 1, 10000),
                "cfg": _float(8.0, 0, 100),
                "sampler_name": [SAMPLERS, {}],
                "scheduler": [SCHEDULERS, {}],
                "positive": cond,
                "negative": cond,
                "latent_image": latent,
                "denoise": _float(1.0, 0, 1),
            },
            ["LATENT"],
        ),
        _node("VAEDecode", {"samples": latent, "vae": vae}, ["IMAGE"]),
        _node("VAEEncode", {"pixels": ["IMAGE"], "vae": ["VAE"]}, ["LATENT"]),
        _node(
            "SaveImage",
            {"images": image, "filename_prefix": ["STRING", {"default": "ComfyUI"}]},
            [],
            output_node=True,
        ),
        _node("LoadImage", {"image": [list(inputs), {"image_upload": True}]}, ["IMAGE", "MASK"]),
        _node(
            "LoadImageMask",
            {
                "image": [list(inputs), {"image_upload": True}],
                "channel": [["alpha", "red", "green", "blue"]],
            },
            ["MASK"],
        ),
        _node("SetLatentNoiseMask", {"samples": ["LATENT"], "mask": ["MASK"]}, ["LATENT"]),
        _node(
            "ImageCompositeMasked",
            {
                "destination": ["IMAGE"],
                "source": ["IMAGE"],
                "x": _int(0, 0),
                "y": _int(0, 0),
                "resize_source": ["BOOLEAN", {"default": False}],
            },
            ["IMAGE"],
            {"mask": ["MASK"]},
        ),
        _node("MaskToImage", {"mask": ["MASK"]}, ["IMAGE"]),
        _node(
            "ImageBlur",
            {
                "image": image,
                "blur_radius": _int(1, 1, 31),
                "sigma": _float(1.0, 0.1, 10.0),
            },
            ["IMAGE"],
        ),
        _node(
            "ImageToMask",
            {"image": ["IMAGE"], "channel": [["red", "green", "blue", "alpha"]]},
            ["MASK"],
        ),
        _node(
            "MaskComposite",
            {
                "destination": ["MASK"],
                "source": ["MASK"],
                "x": _int(0, 0),
                "y": _int(0, 0),
                "operation": [["multiply", "add", "subtract", "and", "or", "xor"]],
            },
            ["MASK"],
        ),
    ]
    return {node["name"]: node for node in nodes}
