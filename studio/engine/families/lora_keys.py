"""Reading a LoRA file's tensor names and shapes: the facts each family adapter's
`lora_target` decides on. Layouts seen: Kohya/A1111 (`lora_unet_..._attn2_to_k.lora_down.weight`,
`lora_te_...`), diffusers/PEFT (`unet....attn2.to_k.lora_A.weight`, `text_encoder....`), and
FLUX files from BFL-style trainers (`double_blocks.`, `single_blocks.`).
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.engine.checkpoints import CheckpointHeader

DOWN_MARKERS = ("lora_down", "lora_A", "lora.down")
UNET_BLOCKS = ("down_blocks", "up_blocks", "mid_block", "input_blocks", "output_blocks")
UNET_PREFIXES = ("lora_unet_", "unet.")
TEXT_ENCODER_PREFIXES = ("lora_te_", "text_encoder.")


@dataclass(frozen=True)
class LoraTarget:
    """What a LoRA was trained for: the adapter that runs it, a label a person knows, and
    the text-context width its cross-attention expects (None: any width of that family)."""

    adapter: str
    label: str
    width: int | None = None


def names_with(header: CheckpointHeader, *parts: str) -> list[str]:
    """Tensor names holding any of `parts`."""
    return [name for name in header.tensors if any(part in name for part in parts)]


def has_prefix(header: CheckpointHeader, prefixes: tuple[str, ...]) -> bool:
    return any(name.startswith(prefixes) for name in header.tensors)


def is_unet_lora(header: CheckpointHeader) -> bool:
    """A LoRA on an SD-style UNet (or its text encoders), not on a transformer."""
    unet = any(
        name.startswith(UNET_PREFIXES) and any(block in name for block in UNET_BLOCKS)
        for name in header.tensors
    )
    return unet or has_prefix(header, TEXT_ENCODER_PREFIXES)


def down_width(header: CheckpointHeader, *parts: str) -> int | None:
    """In-features of the first LoRA down (A) matrix on a layer named with all of `parts`."""
    for name, entry in header.tensors.items():
        down = any(marker in name for marker in DOWN_MARKERS)
        if down and all(part in name for part in parts) and len(entry.shape) >= 2:
            return entry.shape[1]
    return None


def cross_attention_width(header: CheckpointHeader) -> int | None:
    """The text-context width a UNet LoRA's cross-attention reads (768 SD 1.x, 1024 SD 2.x,
    2048 SDXL), from its attn2 key projection; else its text encoder's width."""
    return down_width(header, "attn2", "to_k") or down_width(header, "q_proj")


def transformer_lora(header: CheckpointHeader) -> tuple[bool, int | None]:
    """(is a FLUX-layout LoRA, hidden width) for a LoRA on an MMDiT transformer (SD3, FLUX).

    FLUX has single-stream blocks (`single_blocks`/`single_transformer_blocks`) and BFL's
    `double_blocks`; SD3 has only joint blocks. A LoRA on diffusers' `transformer_blocks`
    alone is told apart by width: FLUX.1's transformer is 3072 wide, SD3's narrower."""
    flux = any(
        marker in name
        for name in header.tensors
        for marker in ("double_blocks", "single_blocks", "single_transformer_blocks")
    )
    return flux, down_width(header, "transformer_blocks", "to_q") or down_width(
        header, "double_blocks", "qkv"
    )


FLUX_WIDTH = 3072
