"""Each family adapter tells its own LoRAs from their tensor names and shapes alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.engine.checkpoints import CheckpointHeader, TensorEntry
from studio.engine.families import ADAPTERS

ATTN2_K = "down_blocks_1_attentions_0_transformer_blocks_0_attn2_to_k"
TE_Q = "text_model_encoder_layers_0_self_attn_q_proj"


def header(**shapes: tuple[int, ...]) -> CheckpointHeader:
    tensors = {
        name.replace("__", "."): TensorEntry(shape, "F16", 2) for name, shape in shapes.items()
    }
    return CheckpointHeader(Path("x.safetensors"), "safetensors", tensors, {})


def target(h: CheckpointHeader):
    found = [(a.key, a.lora_target(h)) for a in ADAPTERS if a.lora_target(h) is not None]
    assert len(found) <= 1, f"claimed by several families: {found}"
    return found[0] if found else None


UNET_K = "lora_unet_" + ATTN2_K + "__lora_down__weight"
PEFT_K = "unet__down_blocks__1__attentions__0__transformer_blocks__0__attn2__to_k__lora_A__weight"
TE = "lora_te_" + TE_Q + "__lora_down__weight"
TE1, TE2 = (f"lora_te{n}_{TE_Q}__lora_down__weight" for n in (1, 2))
BFL = "lora_unet_double_blocks_0_img_attn_qkv__lora_down__weight"
SINGLE = "transformer__single_transformer_blocks__0__attn__to_q__lora_A__weight"
JOINT = "transformer__transformer_blocks__0__attn__to_q__lora_A__weight"


@pytest.mark.parametrize(
    ("names", "adapter", "label", "width"),
    [
        ({UNET_K: (8, 768)}, "sd", "SD 1.x", 768),
        ({TE: (8, 768)}, "sd", "SD 1.x", 768),
        ({UNET_K: (8, 1024)}, "sd", "SD 2.x", 1024),
        ({PEFT_K: (4, 768)}, "sd", "SD 1.x", 768),
        ({TE1: (8, 768), TE2: (8, 1280)}, "sdxl", "SDXL", None),
        ({UNET_K: (8, 2048)}, "sdxl", "SDXL", 2048),
        ({BFL: (16, 3072)}, "flux", "FLUX.1", None),
        ({SINGLE: (16, 3072)}, "flux", "FLUX.1", None),
        ({JOINT: (16, 3072)}, "flux", "FLUX.1", None),
        ({JOINT: (16, 1536)}, "sd3", "SD3", None),
    ],
)
def test_lora_family_from_its_header(names, adapter, label, width):
    found = target(header(**names))
    assert found is not None
    key, lora_target = found
    assert (key, lora_target.label, lora_target.width) == (adapter, label, width)


def test_a_file_without_lora_keys_is_no_familys_lora():
    assert target(header(**{"model__diffusion_model__out__weight": (4, 4)})) is None
