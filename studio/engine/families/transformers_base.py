"""What the diffusion-transformer families (SD3, FLUX.1) share: 16 latent channels, a size
multiple of 16, flow-matching samplers, and single files completed with separate parts."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

from diffusers import DiffusionPipeline
from diffusers.quantizers.quantization_config import GGUFQuantizationConfig

from studio.core.models import ModelInfo
from studio.engine.checkpoints import CheckpointHeader
from studio.engine.components import ModelTree, header_parameters
from studio.engine.devices import Placement
from studio.engine.families.base import FamilyAdapter, Variant, read_config
from studio.engine.families.parts import Part, load_part


class TransformerFamily(FamilyAdapter):
    size_multiple = 16
    flow_matching = True
    parts: ClassVar[tuple[Part, ...]]
    transformer_class: ClassVar[type]

    def variant_of_folder(self, path: Path, index) -> Variant:
        return self.variants[self.folder_variant(read_config(path / "transformer" / "config.json"))]

    def folder_variant(self, transformer: dict[str, Any]) -> str:
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
        components, notes, missing = [], [], []
        parameters = header.parameters
        for part in self.parts:
            if header_parameters(header, part.prefixes):
                continue  # inside the file
            found = tree.best(part.kind)
            if found is not None:
                components.append((part.name, str(found[0])))
                parameters += found[1]
            elif part.required:
                missing.append(part)
            else:
                notes.append(f"runs without {part.label} (no {part.kind} file found)")
        problem = info.problem
        if missing and problem is None:
            names = ", ".join(f"{p.label} ({p.kind}.safetensors)" for p in missing)
            problem = (
                f"needs {names}: put it in models/text_encoders or models/vae beside "
                "the model folder"
            )
        return dataclasses.replace(
            info,
            components=tuple(components),
            notes=tuple(notes),
            problem=problem,
            parameters=parameters,
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
