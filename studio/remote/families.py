"""FLUX.1, SD3 and SD3.5 files on a server: their family, and a diffusion-model-only file's
parts (an all-in-one checkpoint of these families needs only its sampling nodes).

A stock ComfyUI server does not tell a file's architecture: `/object_info` lists names, and
`UNETLoader` finds out only when it loads the file. So the name is all there is here. Krita
AI Diffusion asks its own server extension instead (comfyui-tooling-nodes'
`/api/etn/model_info/diffusion_models` reads each file's tensors), and finds the text encoders
and VAE by name patterns (`clip_l`, `clip_g`, `t5xxl_fp16` before `t5xxl_fp8_e4m3fn`, `ae` or
`flux` for the FLUX VAE), as done here.

The steps, guidance and size per family are the local engine's (`studio/engine/families/`
flux.py and sd3.py); they are repeated here because the ComfyUI client must not import the
engine (it needs torch). Change both together.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class PartKind:
    """A file a diffusion model runs with, found among the server's files by name."""

    label: str  # "T5-XXL text encoder"
    pattern: str  # how its files are named, for a person: "t5xxl_*.safetensors"
    folder: str  # where it goes on the server
    prefixes: tuple[str, ...]  # name starts, most wanted first (fp16 before fp8)
    exclude: tuple[str, ...] = ()

    def find(self, files: Iterable[str]) -> str | None:
        """The best of `files` for this part (by prefix order, then name), or None."""
        ranked = []
        for name in files:
            base = PurePosixPath(name.replace("\\", "/")).name.lower()
            if any(word in base for word in self.exclude):
                continue
            rank = next((i for i, p in enumerate(self.prefixes) if base.startswith(p)), None)
            if rank is not None:
                ranked.append((rank, base, name))
        return min(ranked)[2] if ranked else None

    @property
    def need(self) -> str:
        return f"a {self.label} ({self.pattern}) in models/{self.folder}"


CLIP_L = PartKind("CLIP-L text encoder", "clip_l.safetensors", "text_encoders", ("clip_l",))
CLIP_G = PartKind("CLIP-G text encoder", "clip_g.safetensors", "text_encoders", ("clip_g",))
T5XXL = PartKind(
    "T5-XXL text encoder",
    "t5xxl_*.safetensors",
    "text_encoders",
    ("t5xxl_fp32", "t5xxl_fp16", "t5xxl_bf16", "t5xxl", "t5-v1_1-xxl"),
)
FLUX_VAE = PartKind("FLUX VAE", "ae.safetensors", "vae", ("ae.", "flux"), ("flux2", "flux.2"))
SD3_VAE = PartKind("SD3 VAE", "sd3_vae.safetensors", "vae", ("sd3", "sd35"))


@dataclass(frozen=True)
class RemoteFamily:
    """How a family's diffusion model is loaded and sampled from stock nodes.

    `encoders` load through DualCLIPLoader (with `clip_type`) or, three of them, through
    TripleCLIPLoader; `optional_encoder` joins them when the server has it. `embedded_guidance`
    models (FLUX.1 dev) take the guidance through FluxGuidance and sample with cfg 1 (real CFG
    only with `true_cfg_scale`); the others use the guidance as cfg. `shift` adds
    ModelSamplingSD3.
    """

    variant: str
    label: str
    family: str
    default_steps: int
    default_guidance: float
    encoders: tuple[PartKind, ...]
    vae: PartKind
    clip_type: str
    optional_encoder: PartKind | None = None
    uses_guidance: bool = True
    embedded_guidance: bool = False
    uses_negative_prompt: bool = True
    shift: float | None = None
    native_size: tuple[int, int] = (1024, 1024)
    size_multiple: int = 16


FLUX_DEV = RemoteFamily(
    "flux-dev", "FLUX.1 dev", "flux", 28, 3.5, (CLIP_L, T5XXL), FLUX_VAE, "flux",
    embedded_guidance=True, uses_negative_prompt=False,
)  # fmt: skip
FLUX_SCHNELL = RemoteFamily(
    "flux-schnell", "FLUX.1 schnell", "flux", 4, 0.0, (CLIP_L, T5XXL), FLUX_VAE, "flux",
    uses_guidance=False, uses_negative_prompt=False,
)  # fmt: skip
SD3 = RemoteFamily(
    "sd3", "SD3 medium", "sd3", 28, 7.0, (CLIP_L, CLIP_G), SD3_VAE, "sd3", T5XXL, shift=3.0
)
SD35_MEDIUM = RemoteFamily(
    "sd35_medium", "SD3.5 medium", "sd3", 40, 4.5, (CLIP_L, CLIP_G), SD3_VAE, "sd3", T5XXL,
    shift=3.0,
)  # fmt: skip
SD35_LARGE = RemoteFamily(
    "sd35_large", "SD3.5 large", "sd3", 28, 3.5, (CLIP_L, CLIP_G), SD3_VAE, "sd3", T5XXL,
    shift=3.0,
)  # fmt: skip

UNET_SIZE_MULTIPLE = 8

# Edit, fill and FLUX.2 models need other nodes than these workflows have.
_NOT_PLAIN = ("kontext", "fill", "flux2", "flux.2", "redux", "depth", "canny")


def family_of(name: str) -> RemoteFamily | None:
    """The family a diffusion-model file's name says, or None when it says none we run."""
    base = PurePosixPath(name.replace("\\", "/")).name.lower()
    if any(word in base for word in _NOT_PLAIN):
        return None
    if "flux" in base:
        return FLUX_SCHNELL if "schnell" in base else FLUX_DEV
    if any(tag in base for tag in ("sd3.5", "sd35", "sd3_5", "sd3-5")):
        if "large" in base:
            return SD35_LARGE
        return SD35_MEDIUM if "medium" in base else None
    return SD3 if "sd3" in base else None


@dataclass(frozen=True)
class Checkpoint:
    """An all-in-one checkpoint (model, text encoders and VAE in one file). `family` when its
    name says FLUX.1 or SD3 (which sample differently); None for the UNet families, which
    sample alike."""

    name: str
    family: RemoteFamily | None = None

    @classmethod
    def named(cls, name: str) -> Checkpoint:
        return cls(name, family_of(name))

    @property
    def size_multiple(self) -> int:
        """The side multiple the model works on (the UNet families' latent cell is 8 px)."""
        return self.family.size_multiple if self.family else UNET_SIZE_MULTIPLE


@dataclass(frozen=True)
class DiffusionModel:
    """A diffusion-model file on one server with the files it runs with there."""

    unet: str
    family: RemoteFamily
    encoders: tuple[str, ...]
    vae: str

    @property
    def size_multiple(self) -> int:
        return self.family.size_multiple


def with_parts(
    name: str, family: RemoteFamily, text_encoders: Iterable[str], vaes: Iterable[str]
) -> DiffusionModel | str:
    """`name` with its parts from the server's files, or one line naming what is missing."""
    text_encoders, vaes = tuple(text_encoders), tuple(vaes)
    found = {kind: kind.find(text_encoders) for kind in family.encoders}
    found[family.vae] = family.vae.find(vaes)
    missing = [kind.need for kind, file in found.items() if file is None]
    if missing:
        return "needs " + " and ".join(missing)
    encoders = tuple(found[kind] for kind in family.encoders)
    if family.optional_encoder is not None:
        extra = family.optional_encoder.find(text_encoders)
        encoders += (extra,) if extra else ()
    return DiffusionModel(name, family, encoders, found[family.vae])
