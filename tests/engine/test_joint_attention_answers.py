"""The joint-attention hooks on hand-built layers where the answer is known: diffusers' own SD3
and FLUX attention modules and processors, with weights set so that one image region's queries
meet one text token's key."""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace

import torch
from diffusers.models.attention_processor import Attention, JointAttnProcessor2_0
from diffusers.models.transformers.transformer_flux import FluxAttention, FluxPosEmbed

from studio.engine.families.flux import packed_grid
from studio.engine.families.sd3 import patch_grid
from studio.engine.joint_attention import JointAttentionHooks
from studio.engine.steps import StepRecord


def identity_projections(*linears: torch.nn.Linear) -> None:
    for linear in linears:
        torch.nn.init.eye_(linear.weight)
        torch.nn.init.zeros_(linear.bias)


class SD3Layer(torch.nn.Module):
    """One SD3.5 joint attention layer (q/k RMS norms) on latents read as tokens row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = Attention(
            query_dim=8, added_kv_proj_dim=8, dim_head=4, heads=2, out_dim=8,
            context_pre_only=False, bias=True, processor=JointAttnProcessor2_0(),
            qk_norm="rms_norm", eps=1e-6,
        )  # fmt: skip
        identity_projections(self.attn.to_q, self.attn.add_k_proj)

    def forward(self, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor):
        tokens = hidden_states.flatten(2).transpose(1, 2)
        return self.attn(hidden_states=tokens, encoder_hidden_states=encoder_hidden_states)


class FluxLayer(torch.nn.Module):
    """One FLUX double-stream attention with its rotary embedding over [text, image] ids."""

    def __init__(self) -> None:
        super().__init__()
        self.pos_embed = FluxPosEmbed(theta=10000, axes_dim=[2, 2, 4])
        self.attn = FluxAttention(
            query_dim=16, heads=2, dim_head=8, added_kv_proj_dim=16, context_pre_only=False,
            bias=True, eps=1e-6,
        )  # fmt: skip
        identity_projections(self.attn.to_q, self.attn.add_k_proj)
        for norm in (self.attn.norm_q, self.attn.norm_added_k):
            torch.nn.init.constant_(norm.weight, 4.0)  # sharp: the softmax all but picks

    def forward(self, hidden_states, encoder_hidden_states, txt_ids, img_ids):
        rotary = self.pos_embed(torch.cat([txt_ids, img_ids]))
        return self.attn(
            hidden_states=hidden_states,
            encoder_hidden_states=encoder_hidden_states,
            image_rotary_emb=rotary,
        )


def step(latents: torch.Tensor) -> StepRecord:
    return StepRecord(1, 1, 0.0, latents, None)


def test_sd3_an_image_region_attends_to_the_token_whose_key_it_meets():
    """An L-shaped region of a 2x4 token grid holds the direction of text token 0, the rest
    that of token 1. Per head the RMS-normed query meets its own token's key with logit
    2 * 2 / sqrt(4) = 2 and the other's with 0, so the text softmax gives sigmoid(2)."""
    region = torch.tensor([[1, 1, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    a = torch.tensor([3.0, 0, 0, 0] * 2)
    b = torch.tensor([0, 3.0, 0, 0] * 2)
    image = torch.where(region[None], a[:, None, None], b[:, None, None])  # (8, 2, 4)
    # Guided: row 0 is the negative prompt's, with the tokens the other way round.
    latents = torch.stack([image, image])
    context = torch.stack([torch.stack([b, a]), torch.stack([a, b])])
    layer = SD3Layer()
    pipe = SimpleNamespace(transformer=layer, do_classifier_free_guidance=True)
    hooks = JointAttentionHooks((), partial(patch_grid, patch=1), latent_per_token=1)
    with torch.no_grad():
        plain = layer(latents, context)
        hooks.install(pipe)
        hooked = layer(latents, context)
        hooks.remove(pipe)
    maps = hooks.step_maps(step(latents))
    assert all(torch.equal(p, h) for p, h in zip(plain, hooked, strict=True))
    near, far = torch.sigmoid(torch.tensor(2.0)), torch.sigmoid(torch.tensor(-2.0))
    assert maps.shape == (2, 2, 4)
    assert torch.allclose(maps[0], torch.where(region, near, far), atol=1e-5)
    assert torch.allclose(maps[1], torch.where(region, far, near), atol=1e-5)
    assert not layer.attn._forward_pre_hooks and not layer._forward_pre_hooks


def test_flux_the_rotary_embedding_places_each_token_where_its_position_is():
    """Every query and key holds the same vector, so only FLUX's rotary embedding tells them
    apart: a text token given the position of an image cell is met best by that cell's query
    (no relative rotation there). Without the rotation every map would be flat."""
    height, width = 2, 4
    img_ids = torch.zeros(height * width, 3)
    img_ids[:, 1] = torch.arange(height).repeat_interleave(width)
    img_ids[:, 2] = torch.arange(width).repeat(height)
    txt_ids = torch.tensor([[0.0, 0, 3], [0, 1, 0]])  # token 0 at (row 0, column 3), 1 at (1, 0)
    hidden = torch.ones(1, height * width, 16)
    context = torch.ones(1, 2, 16)
    layer = FluxLayer()
    pipe = SimpleNamespace(transformer=layer)
    hooks = JointAttentionHooks((), packed_grid, latent_per_token=1)
    call = {"encoder_hidden_states": context, "txt_ids": txt_ids, "img_ids": img_ids}
    with torch.no_grad():
        hooks.install(pipe)
        layer(hidden, **call)
        # True CFG's second (negative) call in the same step, tokens placed the other way
        # round: not the prompt's, so not recorded.
        layer(hidden, **{**call, "txt_ids": txt_ids.flip(0)})
        hooks.remove(pipe)
    maps = hooks.step_maps(step(hidden))
    assert maps.shape == (2, height, width)
    assert maps[0, 0, 3] > 0.99 and maps[0, 1, 0] < 0.01
    assert maps[1, 1, 0] > 0.99 and maps[1, 0, 3] < 0.01
    assert torch.allclose(maps.sum(0), torch.ones(height, width), atol=1e-5)


def test_nothing_seen_gives_no_map():
    hooks = JointAttentionHooks((), packed_grid, latent_per_token=2)
    assert hooks.step_maps(step(torch.zeros(1, 4, 64))) is None
