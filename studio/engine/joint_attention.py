"""Attention hooks for MMDiT denoisers (SD3/SD3.5, FLUX.1): the text-to-image part of their
joint attention.

A joint attention layer attends over [image tokens, text tokens] together (FLUX puts the text
first). The hooks take, for the prompt's batch row, the image queries and the text keys as
the layer's processor makes them: `to_q` and `add_k_proj`, split into heads, through the
layer's q/k norms when it has them (SD3.5, FLUX), then, when the call carries a rotary
embedding (FLUX), rotated by diffusers' own `apply_rotary_emb` with the rows of
`image_rotary_emb` that belong to the text (the first ones) and to the image (the rest), as
`FluxAttnProcessor` applies it to the concatenated [text, image] sequence.

Softmax over the text tokens only, with the processor's scale 1/sqrt(head_dim). It is the
UNet cross-attention analogue (each image patch's distribution over the prompt's tokens,
summing to one), and it is exactly the layer's own joint attention restricted to the text
keys and renormalised per patch: a softmax over a subset of the keys is the full softmax
conditioned on that subset. The full softmax's normaliser would need every image key for
every image query, the (image+text)^2 matrix; this needs only image x text logits (4096 x 512
per head for a 1024 px FLUX image), so it stays cheap. The maps therefore say where each
word looked, not how much a patch looked at text rather than at the image.

Layers hooked: every attention module with separate text projections (`add_k_proj`): SD3's
joint blocks (the last one, `context_pre_only`, included: its text keys still steer the
image), FLUX's double-stream blocks. Left out: SD3.5 medium's image-only `attn2` (no text)
and FLUX's single-stream blocks. There text and image tokens share one projection, and the
text tokens come after nineteen blocks of mixing with the image, so a text token's key stands
less for its word than in the double-stream blocks, where the text has its own projections,
the analogue of a UNet's cross-attention (a judgement from the architecture: no real FLUX
weights run on these machines to compare). Hooking them too would triple the cost (57 layers
instead of 19).

Only the first denoiser call of each step is recorded: FLUX's true CFG calls the transformer a
second time for the negative prompt. The token grid comes from that call (`token_grid`, the
family's geometry) and the maps end at the latent grid, `latent_per_token` times finer.
Nothing the model computes is touched: forward pre-hooks read the modules' inputs and are
removed after the run; the processors stay as they were.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
from diffusers.models.embeddings import apply_rotary_emb

from studio.engine.attention_hooks import ContextTokens, prompt_row, to_latent_grid
from studio.engine.steps import StepRecord

TokenGrid = Callable[[Mapping[str, Any]], tuple[int, int]]  # the denoiser's call -> (h, w)


class JointAttentionHooks:
    def __init__(
        self, text: tuple[ContextTokens, ...], token_grid: TokenGrid, latent_per_token: int
    ) -> None:
        self.text = text
        self.token_grid = token_grid
        self.latent_per_token = latent_per_token
        self._pipe: Any = None
        self._handles: list[Any] = []
        self._calls = 0  # denoiser calls in this step
        self._grid = (0, 0)
        self._summed: torch.Tensor | None = None  # (image tokens, text tokens), over layers
        self._layers = 0

    def install(self, pipe: Any) -> None:
        self._pipe, self._calls, self._summed, self._layers = pipe, 0, None, 0
        transformer = pipe.transformer
        self._handles = [
            transformer.register_forward_pre_hook(
                self._denoiser_hook(inspect.signature(transformer.forward)), with_kwargs=True
            )
        ]
        for module in transformer.modules():
            if getattr(module, "add_k_proj", None) is not None:
                signature = inspect.signature(module.forward)
                self._handles.append(
                    module.register_forward_pre_hook(
                        self._attention_hook(signature), with_kwargs=True
                    )
                )

    def step_maps(self, step: StepRecord) -> torch.Tensor | None:
        summed, layers = self._summed, self._layers
        self._calls, self._summed, self._layers = 0, None, 0
        if summed is None:
            return None
        h, w = self._grid
        size = (h * self.latent_per_token, w * self.latent_per_token)
        return to_latent_grid(summed.T.reshape(-1, h, w) / layers, size)

    def remove(self, pipe: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    # -- the hooks -------------------------------------------------------------------------

    def _denoiser_hook(self, signature: inspect.Signature):
        def hook(module: Any, args: tuple, kwargs: dict) -> None:
            self._calls += 1
            if self._calls == 1:
                self._grid = self.token_grid(signature.bind(*args, **kwargs).arguments)

        return hook

    def _attention_hook(self, signature: inspect.Signature):
        def hook(module: Any, args: tuple, kwargs: dict) -> None:
            if self._calls != 1:
                return
            call = signature.bind(*args, **kwargs).arguments
            self._observe(module, call["hidden_states"], call["encoder_hidden_states"], call)

        return hook

    def _observe(
        self, attn: Any, image: torch.Tensor, text: torch.Tensor, call: Mapping[str, Any]
    ) -> None:
        row = prompt_row(self._pipe, image.shape[0])
        # (1, tokens, heads, head_dim), as the processors split heads
        query = attn.to_q(image[row : row + 1]).unflatten(-1, (attn.heads, -1))
        key = attn.add_k_proj(text[row : row + 1]).unflatten(-1, (attn.heads, -1))
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_added_k is not None:
            key = attn.norm_added_k(key)
        rotary = call.get("image_rotary_emb")
        if rotary is not None:  # rows: [text, image]
            length = key.shape[1]
            key = apply_rotary_emb(key, tuple(r[:length] for r in rotary), sequence_dim=1)
            query = apply_rotary_emb(query, tuple(r[length:] for r in rotary), sequence_dim=1)
        scale = query.shape[-1] ** -0.5
        query, key = query.transpose(1, 2).float(), key.transpose(1, 2).float()  # heads first
        logits = query @ key.transpose(-1, -2) * scale  # (1, heads, image, text)
        probs = logits.softmax(dim=-1).mean(dim=(0, 1))  # (image tokens, text tokens)
        self._summed = probs if self._summed is None else self._summed + probs
        self._layers += 1
