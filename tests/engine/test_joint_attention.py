"""Attention maps of the MMDiT families (SD3, FLUX.1) on their tiny models: recorded without
changing the image, hooks gone afterwards, one map per word at the latent grid."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from diffusers import SD3Transformer2DModel

from studio.core.errors import GenerationCancelled
from studio.core.request import GenerationRequest
from studio.engine import Engine, ModelLibrary
from studio.engine.attention import AttentionRecorder
from studio.engine.devices import Placement
from studio.engine.families import attention_hooks
from studio.engine.steps import StepRecord
from tests.engine.attention_cli import check_attention_cli
from tests.tiny_families import save_tiny_flux, save_tiny_sd3

BUILDERS = {
    "sd3": save_tiny_sd3,
    "sd3-no-t5": lambda folder: save_tiny_sd3(folder, with_t5=False),
    "flux-dev": save_tiny_flux,
}
# The joint context: CLIP's 77 tokens then T5's 256 (SD3), T5's 256 (FLUX at <= 8 steps).
CONTEXT = {"sd3": 77 + 256, "sd3-no-t5": 77 + 256, "flux-dev": 256}
# "a red circle": CLIP's start token is 0; T5 writes "a" as "▁" + "a".
WORD_TOKENS = {
    "sd3": [(1, 77, 78), (2, 79), (3, 80)],
    "sd3-no-t5": [(1,), (2,), (3,)],
    "flux-dev": [(0, 1), (2,), (3,)],
}


@pytest.fixture(scope="module")
def joint_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("joint")
    for name, build in BUILDERS.items():
        build(root / name)
        (root / name / "snail_studio.json").write_text(json.dumps({"native_size": [64, 64]}))
    return root


@pytest.fixture(scope="module")
def joint_engine(joint_dir, tmp_path_factory):
    library = ModelLibrary([joint_dir], embedded_dir=tmp_path_factory.mktemp("no-embedded"))
    return Engine(library, Placement.choose("fp32", "cpu"))


def request(model: str, **changes) -> GenerationRequest:
    base = {"prompt": "a red circle", "model": model, "steps": 3, "seed": 5, "scheduler": "Euler"}
    return GenerationRequest(**{**base, "width": 64, "height": 64, **changes})


def hooked_modules(transformer) -> list[str]:
    return [name for name, m in transformer.named_modules() if m._forward_pre_hooks]


@pytest.mark.parametrize("model", ["sd3", "flux-dev"])
def test_recording_leaves_the_image_and_the_processors_as_they_were(joint_engine, model):
    plain = joint_engine.generate(request(model))
    transformer = joint_engine._cache.current.base.transformer
    before = dict(transformer.attn_processors)
    recorder = AttentionRecorder()
    recorded = joint_engine.generate(request(model), observers=[recorder])
    assert np.array_equal(np.asarray(plain.images[0]), np.asarray(recorded.images[0]))
    assert transformer.attn_processors == before  # the very same processor objects
    assert hooked_modules(transformer) == []
    assert sorted(recorder.steps) == [1, 2, 3]
    maps = recorder.token_maps()
    assert maps.shape == (CONTEXT[model], 8, 8)  # 64 px: the 8x8 latent grid
    # Each image position's attention over the text tokens sums to one (softmax).
    assert np.allclose(maps.sum(0).numpy(), 1.0, atol=1e-4)


@pytest.mark.parametrize("model", ["sd3", "flux-dev"])
def test_a_cancelled_run_leaves_no_hooks(joint_engine, model):
    joint_engine.generate(request(model))  # resident
    transformer = joint_engine._cache.current.base.transformer
    before = dict(transformer.attn_processors)
    cancel = threading.Event()
    with pytest.raises(GenerationCancelled):
        joint_engine.generate(
            request(model), on_step=lambda _: cancel.set(), cancel=cancel,
            observers=[AttentionRecorder()],
        )  # fmt: skip
    assert transformer.attn_processors == before
    assert hooked_modules(transformer) == []


@pytest.mark.parametrize("model", list(BUILDERS))
def test_one_map_per_word_at_the_latent_grid(joint_engine, model):
    recorder = AttentionRecorder()
    joint_engine.generate(request(model, guidance_scale=4.0), observers=[recorder])
    words = recorder.word_maps("a red circle")
    assert [w.word for w in words] == ["a", "red", "circle"]
    assert [w.tokens for w in words] == WORD_TOKENS[model]
    for word in words:
        assert word.heat.shape == (8, 8)
        assert word.heat.min() == 0.0 and word.heat.max() == 1.0
    one_step = recorder.word_maps("a red circle", step=2)
    assert not np.allclose(one_step[1].heat, words[1].heat)


def test_a_wide_flux_image_keeps_its_rows_and_columns(joint_engine):
    recorder = AttentionRecorder()
    joint_engine.generate(request("flux-dev", width=96, height=64), observers=[recorder])
    assert recorder.token_maps().shape == (256, 8, 12)


@pytest.mark.parametrize("model", ["sd3", "flux-dev"])
def test_cli_writes_a_map_per_word_and_an_index(joint_dir, tmp_path, capsys, model):
    size = ["--width", "64", "--height", "64", "--scheduler", "Euler"]
    check_attention_cli(["--model-dir", str(joint_dir), "--model", model, *size], tmp_path, capsys)


def sd35_medium_shaped() -> tuple[SD3Transformer2DModel, dict]:
    """SD3.5 medium's blocks: q/k RMS norms and an image-only `attn2` in the dual layers."""
    torch.manual_seed(0)
    transformer = SD3Transformer2DModel(
        sample_size=8, patch_size=2, in_channels=16, out_channels=16, num_layers=2,
        attention_head_dim=8, num_attention_heads=4, caption_projection_dim=32,
        joint_attention_dim=32, pooled_projection_dim=64, pos_embed_max_size=16,
        dual_attention_layers=(0,), qk_norm="rms_norm",
    )  # fmt: skip
    call = {
        "hidden_states": torch.randn(2, 16, 8, 12),
        "encoder_hidden_states": torch.randn(2, 5, 32),
        "pooled_projections": torch.randn(2, 64),
        "timestep": torch.tensor([500.0, 500.0]),
    }
    return transformer, call


def test_sd35_medium_hooks_its_joint_attention_only_and_keeps_the_output():
    transformer, call = sd35_medium_shaped()
    assert transformer.transformer_blocks[0].attn2 is not None
    pipe = SimpleNamespace(
        transformer=transformer, do_classifier_free_guidance=True, tokenizer=None,
        text_encoder_3=None, tokenizer_max_length=77,
    )  # fmt: skip
    hooks = attention_hooks(pipe)
    with torch.inference_mode():
        plain = transformer(**call).sample
        hooks.install(pipe)
        joint = ["transformer_blocks.0.attn", "transformer_blocks.1.attn"]
        assert hooked_modules(transformer) == ["", *joint]  # not transformer_blocks.0.attn2
        hooked = transformer(**call).sample
        hooks.remove(pipe)
    assert torch.equal(plain, hooked)
    assert hooked_modules(transformer) == []
    maps = hooks.step_maps(StepRecord(1, 1, 0.0, call["hidden_states"], None))
    assert maps.shape == (5, 8, 12)  # 4x6 patches, at the latent grid
    assert torch.allclose(maps.sum(0), torch.ones(8, 12), atol=1e-5)


def test_flux_hooks_its_double_stream_blocks_only(joint_engine):
    joint_engine.generate(request("flux-dev"))
    pipe = joint_engine._cache.current.base
    hooks = attention_hooks(pipe)
    hooks.install(pipe)
    try:
        assert hooked_modules(pipe.transformer) == ["", "transformer_blocks.0.attn"]
    finally:
        hooks.remove(pipe)
    assert len(pipe.transformer.single_transformer_blocks) == 1  # there, and left alone
