"""What the diffusion-transformer families (SD3, FLUX.1) share: 16 latent channels, a size
multiple of 16, flow-matching samplers, and single files completed with separate parts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.pipelines.flux.pipeline_flux import calculate_shift, retrieve_timesteps
from diffusers.quantizers.quantization_config import GGUFQuantizationConfig

from studio.core.models import ModelInfo
from studio.engine.attention_hooks import AttentionHooks
from studio.engine.checkpoints import CheckpointHeader
from studio.engine.components import ModelTree, header_parameters
from studio.engine.devices import Placement, memory_budget, weights_memory
from studio.engine.families.base import FamilyAdapter, Variant, read_config
from studio.engine.families.parts import Part, load_part
from studio.engine.forward_process import FlowMatching, ForwardProcess


class TransformerFamily(FamilyAdapter):
    size_multiple = 16
    flow_matching = True
    parts: ClassVar[tuple[Part, ...]]
    transformer_class: ClassVar[type]

    def forward_process(
        self, pipe: DiffusionPipeline, scheduler_config: Any, width: int, height: int
    ) -> ForwardProcess:
        return FlowMatching(scheduler_config, self.shift_mu(pipe, scheduler_config, width, height))

    def img2img_timesteps(
        self, pipe: DiffusionPipeline, sampler: Any, steps: int, width: int, height: int
    ) -> torch.Tensor:
        mu = self.shift_mu(pipe, sampler.config, width, height)
        timesteps, _ = retrieve_timesteps(sampler, steps, sigmas=self.img2img_sigmas(steps), mu=mu)
        return timesteps

    def img2img_sigmas(self, steps: int) -> np.ndarray | None:
        """The `sigmas` the img2img pipeline passes its sampler; None: the sampler's own."""
        return None

    def shift_mu(
        self, pipe: DiffusionPipeline, config: Any, width: int, height: int
    ) -> float | None:
        """The resolution-dependent shift as the img2img pipeline computes it from the image's
        token count; None for a schedule with a fixed shift."""
        if not config.get("use_dynamic_shifting"):
            return None
        return calculate_shift(
            self.image_tokens(pipe, width, height),
            config.get("base_image_seq_len", 256),
            config.get("max_image_seq_len", 4096),
            config.get("base_shift", 0.5),
            config.get("max_shift", 1.15),
        )

    def image_tokens(self, pipe: DiffusionPipeline, width: int, height: int) -> int:
        cell = pipe.vae_scale_factor * pipe.transformer.config.patch_size
        return (height // cell) * (width // cell)

    def variant_of_folder(self, path: Path, index) -> Variant:
        return self.variants[self.folder_variant(read_config(path / "transformer" / "config.json"))]

    def folder_variant(self, transformer: dict[str, Any]) -> str:
        raise NotImplementedError

    def attention_hooks(self, pipe: DiffusionPipeline) -> AttentionHooks | None:
        if not isinstance(getattr(pipe, "transformer", None), self.transformer_class):
            return None
        return self.joint_attention(pipe)

    def joint_attention(self, pipe: DiffusionPipeline) -> AttentionHooks:
        """The hooks on this family's joint attention: its text layout and token geometry."""
        raise NotImplementedError

    def describe(
        self, info: ModelInfo, variant: Variant, header: CheckpointHeader | None, tree: ModelTree
    ) -> ModelInfo:
        info = super().describe(info, variant, header, tree)
        if header is None:
            index = read_config(info.path / "model_index.json")
            notes = tuple(
                f"runs without {part.label} (the folder has none)"
                for part in self.parts
                if not part.required and index.get(part.name, [None])[0] is None
            )
            return dataclasses.replace(info, notes=notes)
        found: dict[str, tuple[str, int]] = {}
        notes, missing = [], []
        for part in self.parts:
            if header_parameters(header, part.prefixes):
                continue  # inside the file
            best = tree.best(part.kind)
            if best is not None:
                found[part.name] = (str(best[0]), best[1])
            elif part.required:
                missing.append(part)
            else:
                notes.append(f"runs without {part.label} (no {part.kind} file found)")
        for part in self.parts:  # an optional part that does not fit is left out
            if part.required or part.name not in found:
                continue
            with_all = self._with_parts(info, header, found)
            if with_all.memory_bytes <= memory_budget():
                break
            del found[part.name]
            notes.append(
                f"runs without {part.label}: with it the weights need "
                f"{with_all.memory_bytes / 1e9:.1f} GB, more than this machine has"
            )
        info = self._with_parts(info, header, found)
        problem = info.problem
        if missing and problem is None:
            names = ", ".join(f"{p.label} ({p.kind}.safetensors)" for p in missing)
            problem = (
                f"needs {names}: put it in models/text_encoders or models/vae beside "
                "the model folder"
            )
        return dataclasses.replace(
            info,
            notes=tuple(notes),
            problem=problem,
            missing=tuple(f"{p.label} ({p.kind})" for p in missing),
        )

    def _with_parts(
        self, info: ModelInfo, header: CheckpointHeader, found: dict[str, tuple[str, int]]
    ) -> ModelInfo:
        """`info` completed with the parts found: their paths, parameters and memory."""
        extra = sum(params for _, params in found.values())
        quantized = header.nbytes if header.format == "gguf" else 0
        dense = header.parameters - (header.parameters if quantized else 0) + extra
        return dataclasses.replace(
            info,
            components=tuple((name, path) for name, (path, _) in found.items()),
            parameters=header.parameters + extra,
            memory_bytes=weights_memory(dense, quantized),
        )

    def load(self, info: ModelInfo, placement: Placement) -> DiffusionPipeline:
        """A single file: the transformer from it (GGUF stays quantized), the parts from
        their files or from inside it, tokenizers and scheduler from the bundled config."""
        if info.format == "diffusers":
            return super().load(info, placement)
        config = self.variant(info).config_dir
        dtype = placement.weights_dtype
        options: dict[str, Any] = {}
        if info.format == "gguf":
            options["quantization_config"] = GGUFQuantizationConfig(compute_dtype=dtype)
        transformer = self.transformer_class.from_single_file(
            str(info.path),
            config=str(config),
            subfolder="transformer",
            local_files_only=True,
            dtype=dtype,
            **options,
        )
        separate = dict(info.components)
        components: dict[str, Any] = {"transformer": transformer}
        for part in self.parts:
            if part.name in separate:
                components[part.name] = load_part(part, Path(separate[part.name]), config, dtype)
            elif not part.required:
                components[part.name] = None
                components[part.name.replace("text_encoder", "tokenizer")] = None
        if len(components) - 1 < len(self.parts):
            return self.pipeline_class(info).from_single_file(
                str(info.path),
                config=str(config),
                local_files_only=True,
                dtype=dtype,
                **components,
            )
        return self.pipeline_class(info).from_pretrained(
            config, local_files_only=True, dtype=dtype, **components
        )
