"""What every model family adapter answers, and the parts they share.

An adapter owns one architecture (diffusers keeps one pipeline per family; Krita AI
Diffusion one workflow builder per architecture): how to recognise it from a diffusers
folder or a single file's header, how to load it offline, its mode variants, how a request
becomes call arguments, its latent geometry, previews, samplers and defaults. The engine
asks the adapter; nothing outside `families/` tests a family name.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting, DiffusionPipeline

from studio.core.errors import ModelError
from studio.core.models import ModelInfo
from studio.core.paths import RESOURCES
from studio.core.request import GenerationRequest, Mode
from studio.engine.attention_hooks import AttentionHooks, ContextTokens
from studio.engine.checkpoints import CheckpointHeader
from studio.engine.components import ModelTree
from studio.engine.devices import Placement, weights_memory
from studio.engine.families.lora_keys import LoraTarget
from studio.engine.forward_process import ForwardProcess, VariancePreserving
from studio.engine.previews import LatentPreviewer
from studio.engine.unet_attention import UNetCrossAttention

CONFIGS = RESOURCES / "configs"


@dataclass(frozen=True)
class Variant:
    """One kind of checkpoint of a family, named as diffusers' single-file detection names it
    (`v1`, `xl_inpaint`, `flux-dev`); its bundled config folder has the same name."""

    model_type: str
    label: str
    family: str
    native: int
    inpainting: bool = False
    default_steps: int | None = None  # None: the user's default (settings)
    default_guidance: float | None = None
    uses_guidance: bool = True
    problem: str | None = None
    context_width: int | None = None  # what its cross-attention reads; LoRAs must match

    @property
    def config_dir(self) -> Path:
        return CONFIGS / self.model_type


class FamilyAdapter:
    """Base of the family adapters; subclasses fill in the class attributes and hooks."""

    key: ClassVar[str]
    families: ClassVar[frozenset[str]]  # ModelInfo.family values this adapter runs
    pipelines: ClassVar[frozenset[str]]  # model_index.json `_class_name` values
    variants: ClassVar[Mapping[str, Variant]]  # by diffusers model type
    size_multiple: ClassVar[int] = 8
    flow_matching: ClassVar[bool] = False
    uses_true_cfg: ClassVar[bool] = False
    preview_factors: ClassVar[tuple[tuple[float, float, float], ...]]
    preview_bias: ClassVar[tuple[float, float, float]] = (0.0, 0.0, 0.0)

    # --- recognising ----------------------------------------------------------------------

    def variant_of_folder(self, path: Path, index: Mapping[str, Any]) -> Variant:
        """The variant a diffusers folder holds (its configs say; no weights read)."""
        raise NotImplementedError

    def describe(
        self, info: ModelInfo, variant: Variant, header: CheckpointHeader | None, tree: ModelTree
    ) -> ModelInfo:
        """Fill in what this family knows about a recognised model; single files also name
        the separate components they need (`header` is None for a diffusers folder)."""
        quantized = header if header is not None and header.format == "gguf" else None
        dense = info.parameters - (quantized.parameters if quantized else 0)
        return dataclasses.replace(
            info,
            schedule=schedule_marks(header) if header is not None else (),
            family=info.family or variant.family,
            family_label=info.family_label or variant.label,
            variant=variant.model_type,
            problem=info.problem or variant.problem,
            size_multiple=self.size_multiple,
            default_steps=variant.default_steps,
            uses_guidance=variant.uses_guidance,
            uses_negative_prompt=self.uses_negative_prompt(variant),
            uses_true_cfg=self.uses_true_cfg,
            recommended_guidance=info.recommended_guidance
            if info.recommended_guidance is not None
            else variant.default_guidance,
            memory_bytes=weights_memory(dense, quantized.nbytes if quantized else 0),
        )

    def uses_negative_prompt(self, variant: Variant) -> bool:
        return True

    # --- LoRAs ----------------------------------------------------------------------------

    def lora_target(self, header: CheckpointHeader) -> LoraTarget | None:
        """What a LoRA file is for, when this family can run it; None when it is another
        family's (read from tensor names and shapes only)."""
        return None

    def context_width(self, info: ModelInfo) -> int | None:
        """The text-context width a model's cross-attention reads: its UNet config says for a
        diffusers folder, its variant for a single file; None when not known."""
        if info.format == "diffusers":
            width = read_config(info.path / "unet" / "config.json").get("cross_attention_dim")
            return width if isinstance(width, int) else None
        return self.variants[info.variant].context_width if info.variant in self.variants else None

    # --- loading --------------------------------------------------------------------------

    def load(self, info: ModelInfo, placement: Placement) -> DiffusionPipeline:
        """The base (text-to-image) pipeline from local files only."""
        cls = self.pipeline_class(info)
        if info.format == "diffusers":
            index = read_config(info.path / "model_index.json")
            absent = {name: None for name, spec in index.items() if spec == [None, None]}
            return cls.from_pretrained(
                info.path,
                local_files_only=True,
                dtype=placement.weights_dtype,
                **{**absent, **self.extra_parts(info)},
            )
        pipe = cls.from_single_file(
            str(info.path),
            config=str(self.variant(info).config_dir),
            local_files_only=True,
            dtype=placement.weights_dtype,
            **self.extra_parts(info),
        )
        if info.schedule:  # the file says how it was trained (v-prediction, zero terminal SNR)
            marks = dict(info.schedule)
            pipe.scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config, **marks)
        return pipe

    def pipeline_class(self, info: ModelInfo) -> type[DiffusionPipeline]:
        raise NotImplementedError

    def extra_parts(self, info: ModelInfo) -> dict[str, Any]:
        """Components to leave out or fix (e.g. no safety checker)."""
        return {}

    def variant(self, info: ModelInfo) -> Variant:
        try:
            return self.variants[info.variant]
        except KeyError:
            raise ModelError(f"{info.name}: unknown {self.key} variant {info.variant!r}") from None

    def mode_pipeline(self, base: DiffusionPipeline, mode: Mode, info: ModelInfo):
        """img2img and inpaint share the base pipeline's modules (`from_pipe`, no copies).
        An inpainting model (9-channel UNet) runs every mode through its inpaint pipeline."""
        if self.variant(info).inpainting or mode is Mode.INPAINT:
            return AutoPipelineForInpainting.from_pipe(base)
        if mode is Mode.IMG2IMG:
            return AutoPipelineForImage2Image.from_pipe(base)
        return base

    # --- running --------------------------------------------------------------------------

    def call_arguments(
        self, pipe: DiffusionPipeline, request: GenerationRequest, mode_kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        """The pipeline call for `request`; arguments the pipeline does not take are left out
        (SDXL's img2img takes no size, for example)."""
        kwargs = {
            "prompt": request.prompt,
            "negative_prompt": request.negative_prompt or None,
            "num_inference_steps": request.steps,
            "guidance_scale": request.guidance_scale,
            "num_images_per_prompt": request.batch_size,
            **mode_kwargs,
            **self.family_arguments(request),
        }
        accepted = inspect.signature(type(pipe).__call__).parameters
        return {k: v for k, v in kwargs.items() if k in accepted}

    def family_arguments(self, request: GenerationRequest) -> dict[str, Any]:
        return {}

    def previewer(self, info: ModelInfo) -> LatentPreviewer:
        return LatentPreviewer.for_model(
            info.path if info.format == "diffusers" else None,
            self.preview_factors,
            self.preview_bias,
        )

    def latents_to_grid(self, latents: torch.Tensor, width: int, height: int) -> torch.Tensor:
        """Latents as (B, C, h, w): what previews read. Packed families unpack here."""
        return latents

    def attention_hooks(self, pipe: DiffusionPipeline) -> AttentionHooks | None:
        """How attention maps are recorded on `pipe`; None when its denoiser is not one this
        adapter hooks. UNets: their cross-attention processors, reading the first tokenizer's
        tokens (SDXL's second CLIP tokenizes alike; its embeddings join along the channels)."""
        if getattr(pipe, "unet", None) is None:
            return None
        return UNetCrossAttention((ContextTokens(pipe.tokenizer),))

    # --- the forward process (the noise lab) ----------------------------------------------

    def forward_process(
        self, pipe: DiffusionPipeline, scheduler_config: Any, width: int, height: int
    ) -> ForwardProcess:
        """How training noised this model's latents for an image of `width` x `height`."""
        return VariancePreserving(scheduler_config)

    def img2img_timesteps(
        self, pipe: DiffusionPipeline, sampler: Any, steps: int, width: int, height: int
    ) -> torch.Tensor:
        """The timesteps this family's img2img pipeline sets on `sampler` for `steps` steps at
        `width` x `height`, before its strength cuts off the first ones."""
        sampler.set_timesteps(steps)
        return sampler.timesteps


def read_config(path: Path) -> dict[str, Any]:
    """A JSON config as a dict; {} when missing or unreadable (identification says why)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def schedule_marks(header: CheckpointHeader) -> tuple[tuple[str, Any], ...]:
    """Training facts some files carry as empty tensors (NoobAI-style v-prediction SDXL files,
    ComfyUI's convention): `v_pred` for v-prediction, `ztsnr` for zero terminal SNR."""
    marks: list[tuple[str, Any]] = []
    if "v_pred" in header.tensors:
        marks.append(("prediction_type", "v_prediction"))
    if "ztsnr" in header.tensors:
        marks.append(("rescale_betas_zero_snr", True))
    return tuple(marks)
