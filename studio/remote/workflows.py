"""API-format ComfyUI workflows for txt2img, img2img and inpaint, from stock nodes only.

One image per workflow (batch_size 1) with its own seed: a batch is several workflows, so
every image can be remade from its seed alone and the pool can spread them over servers.
"""

from __future__ import annotations

from typing import Any

from studio.core.request import GenerationRequest, Mode
from studio.remote.samplers import to_comfy

SAVE_NODE = "9"
FILENAME_PREFIX = "snail-studio"
_MAX_BLUR_RADIUS = 31  # ImageBlur's limits
_MAX_BLUR_SIGMA = 10.0

Workflow = dict[str, dict[str, Any]]


def _node(class_type: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs}


def build_workflow(
    request: GenerationRequest,
    checkpoint: str,
    image_name: str | None = None,
    mask_name: str | None = None,
) -> Workflow:
    """The workflow for one image of a resolved request (concrete seed and size).

    `image_name` and `mask_name` are the server's names for the uploaded input image and mask
    (white = repaint), both already at the request's size.
    """
    sampler_name, scheduler = to_comfy(request.scheduler)
    workflow: Workflow = {
        "4": _node("CheckpointLoaderSimple", ckpt_name=checkpoint),
        "6": _node("CLIPTextEncode", text=request.prompt, clip=["4", 1]),
        "7": _node("CLIPTextEncode", text=request.negative_prompt, clip=["4", 1]),
    }
    denoise = 1.0
    if request.mode is Mode.TXT2IMG:
        workflow["5"] = _node(
            "EmptyLatentImage", width=request.width, height=request.height, batch_size=1
        )
        latent = ["5", 0]
    else:
        if image_name is None:
            raise ValueError(f"{request.mode.value} needs the uploaded input image")
        denoise = request.strength
        workflow["10"] = _node("LoadImage", image=image_name)
        workflow["11"] = _node("VAEEncode", pixels=["10", 0], vae=["4", 2])
        latent = ["11", 0]
    if request.mode is Mode.INPAINT:
        if mask_name is None:
            raise ValueError("inpaint needs the uploaded mask")
        workflow["12"] = _node("LoadImageMask", image=mask_name, channel="red")
        workflow["13"] = _node("SetLatentNoiseMask", samples=latent, mask=["12", 0])
        latent = ["13", 0]
    workflow["3"] = _node(
        "KSampler",
        seed=request.seed,
        steps=request.steps,
        cfg=request.guidance_scale,
        sampler_name=sampler_name,
        scheduler=scheduler,
        denoise=denoise,
        model=["4", 0],
        positive=["6", 0],
        negative=["7", 0],
        latent_image=latent,
    )
    workflow["8"] = _node("VAEDecode", samples=["3", 0], vae=["4", 2])
    images = ["8", 0]
    if request.mode is Mode.INPAINT:
        images = _paste_back(workflow, request.mask_feather)
    workflow[SAVE_NODE] = _node("SaveImage", filename_prefix=FILENAME_PREFIX, images=images)
    return workflow


def _paste_back(workflow: Workflow, feather: int) -> list[Any]:
    """Pixels outside the mask come back exactly, with the edge softened inwards only, as the
    local engine does (blur the mask, then keep the blur inside the painted area)."""
    blend = ["12", 0]
    if feather > 0:
        workflow["15"] = _node("MaskToImage", mask=["12", 0])
        workflow["16"] = _node(
            "ImageBlur",
            image=["15", 0],
            blur_radius=min(feather, _MAX_BLUR_RADIUS),
            sigma=min(max(feather / 2, 0.1), _MAX_BLUR_SIGMA),
        )
        workflow["17"] = _node("ImageToMask", image=["16", 0], channel="red")
        workflow["18"] = _node(
            "MaskComposite", destination=["12", 0], source=["17", 0], x=0, y=0, operation="multiply"
        )
        blend = ["18", 0]
    workflow["14"] = _node(
        "ImageCompositeMasked",
        destination=["10", 0],
        source=["8", 0],
        x=0,
        y=0,
        resize_source=False,
        mask=blend,
    )
    return ["14", 0]
