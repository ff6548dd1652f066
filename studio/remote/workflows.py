"""API-format ComfyUI workflows for txt2img, img2img and inpaint, from stock nodes only.

One image per workflow (batch_size 1) with its own seed: a batch is several workflows, so
every image can be remade from its seed alone and the pool can spread them over servers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from studio.core.request import GenerationRequest, Mode
from studio.remote.families import Checkpoint, DiffusionModel, RemoteFamily
from studio.remote.samplers import to_comfy

SAVE_NODE = "9"
FILENAME_PREFIX = "snail-studio"
_MAX_BLUR_RADIUS = 31  # ImageBlur's limits
_MAX_BLUR_SIGMA = 10.0

Workflow = dict[str, dict[str, Any]]
Link = list[Any]  # [node id, output index]
# An all-in-one checkpoint, or a diffusion model with its text encoders and VAE
ModelSource = Checkpoint | DiffusionModel


def _node(class_type: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs}


@dataclass(frozen=True)
class _Loaded:
    model: Link
    clip: Link
    vae: Link


def build_workflow(
    request: GenerationRequest,
    model: ModelSource,
    image_name: str | None = None,
    mask_name: str | None = None,
) -> Workflow:
    """The workflow for one image of a resolved request (concrete seed and size).

    `image_name` and `mask_name` are the server's names for the uploaded input image and mask
    (white = repaint), both already at the request's size.
    """
    family = model.family
    sampler_name, scheduler = to_comfy(request.scheduler, flow=family is not None)
    workflow: Workflow = {}
    if isinstance(model, DiffusionModel):
        loaded = _load_diffusion_model(workflow, model)
    else:
        loaded = _load_checkpoint(workflow, model)
    workflow["6"] = _node("CLIPTextEncode", text=request.prompt, clip=loaded.clip)
    workflow["7"] = _node("CLIPTextEncode", text=request.negative_prompt, clip=loaded.clip)
    positive, cfg = _guidance(workflow, request, family)
    denoise = 1.0
    if request.mode is Mode.TXT2IMG:
        empty = "EmptySD3LatentImage" if family else "EmptyLatentImage"
        workflow["5"] = _node(empty, width=request.width, height=request.height, batch_size=1)
        latent = ["5", 0]
    else:
        if image_name is None:
            raise ValueError(f"{request.mode.value} needs the uploaded input image")
        denoise = request.strength
        workflow["10"] = _node("LoadImage", image=image_name)
        workflow["11"] = _node("VAEEncode", pixels=["10", 0], vae=loaded.vae)
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
        cfg=cfg,
        sampler_name=sampler_name,
        scheduler=scheduler,
        denoise=denoise,
        model=loaded.model,
        positive=positive,
        negative=["7", 0],
        latent_image=latent,
    )
    workflow["8"] = _node("VAEDecode", samples=["3", 0], vae=loaded.vae)
    images = ["8", 0]
    if request.mode is Mode.INPAINT:
        images = _paste_back(workflow, request.mask_feather)
    workflow[SAVE_NODE] = _node("SaveImage", filename_prefix=FILENAME_PREFIX, images=images)
    return workflow


def _guidance(
    workflow: Workflow, request: GenerationRequest, family: RemoteFamily | None
) -> tuple[Link, float]:
    """The positive conditioning and the cfg. FLUX.1 dev reads the guidance as an input
    (FluxGuidance) and samples with cfg 1, or real CFG with the negative prompt at
    `true_cfg_scale`; schnell takes no guidance at all."""
    positive: Link = ["6", 0]
    if family is None or (family.uses_guidance and not family.embedded_guidance):
        return positive, request.guidance_scale
    if not family.uses_guidance:
        return positive, 1.0
    workflow["21"] = _node("FluxGuidance", conditioning=positive, guidance=request.guidance_scale)
    return ["21", 0], request.true_cfg_scale if request.negative_prompt else 1.0


def _load_checkpoint(workflow: Workflow, checkpoint: Checkpoint) -> _Loaded:
    workflow["4"] = _node("CheckpointLoaderSimple", ckpt_name=checkpoint.name)
    return _Loaded(_shifted(workflow, ["4", 0], checkpoint.family), ["4", 1], ["4", 2])


def _load_diffusion_model(workflow: Workflow, model: DiffusionModel) -> _Loaded:
    """UNETLoader, the text encoders (two through DualCLIPLoader, three through
    TripleCLIPLoader) and VAELoader."""
    family = model.family
    workflow["4"] = _node("UNETLoader", unet_name=model.unet, weight_dtype="default")
    names = {f"clip_name{i}": name for i, name in enumerate(model.encoders, start=1)}
    if len(model.encoders) == 3:
        workflow["19"] = _node("TripleCLIPLoader", **names)
    else:
        workflow["19"] = _node("DualCLIPLoader", **names, type=family.clip_type, device="default")
    workflow["20"] = _node("VAELoader", vae_name=model.vae)
    return _Loaded(_shifted(workflow, ["4", 0], family), ["19", 0], ["20", 0])


def _shifted(workflow: Workflow, unet: Link, family: RemoteFamily | None) -> Link:
    """ModelSamplingSD3 after the model when its family shifts its schedule."""
    if family is None or family.shift is None:
        return unet
    workflow["22"] = _node("ModelSamplingSD3", model=unet, shift=family.shift)
    return ["22", 0]


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
