"""Cross-attention maps on the tiny pipeline: recorded without changing the image, per word."""

from __future__ import annotations

import numpy as np
from PIL import Image

from studio.core.request import GenerationRequest
from studio.engine.attention import AttentionRecorder, overlay, prompt_words
from studio.engine.attention_hooks import ContextTokens
from tests.engine.attention_cli import check_attention_cli
from tests.tiny_pipeline import tiny_components


def request(**changes) -> GenerationRequest:
    base = {"prompt": "a red circle", "model": "tiny", "steps": 3, "seed": 2}
    return GenerationRequest(**{**base, "width": 64, "height": 64, **changes})


def test_recording_leaves_the_image_unchanged_and_the_processors_as_they_were(engine):
    plain = engine.generate(request())
    unet = engine._cache.current.base.unet
    before = {name: type(p) for name, p in unet.attn_processors.items()}
    recorder = AttentionRecorder()
    recorded = engine.generate(request(), observers=[recorder])
    assert np.array_equal(np.asarray(plain.images[0]), np.asarray(recorded.images[0]))
    assert {name: type(p) for name, p in unet.attn_processors.items()} == before
    assert sorted(recorder.steps) == [1, 2, 3]
    maps = recorder.token_maps()
    assert maps.shape == (77, 8, 8)
    # Each position's attention over the tokens sums to one (softmax), layer-averaged.
    assert np.allclose(maps.sum(0).numpy(), 1.0, atol=1e-4)


def test_unguided_runs_record_too(engine):
    recorder = AttentionRecorder()
    engine.generate(request(guidance_scale=1.0), observers=[recorder])
    assert recorder.token_maps(step=2).shape == (77, 8, 8)


def test_word_maps_follow_the_prompts_words(engine):
    recorder = AttentionRecorder()
    engine.generate(request(prompt="a red circle"), observers=[recorder])
    words = recorder.word_maps("a red circle")
    assert [w.word for w in words] == ["a", "red", "circle"]
    assert [w.tokens for w in words] == [(1,), (2,), (3,)]
    for word in words:
        assert word.heat.shape == (8, 8)
        assert word.heat.min() == 0.0 and word.heat.max() == 1.0


def test_a_word_of_several_tokens_is_one_word():
    tokenizer = tiny_components()["tokenizer"]
    words = prompt_words([ContextTokens(tokenizer)], "a snailification")
    assert words[0] == ("a", [1])
    assert words[1][0] == "snailification" and len(words[1][1]) > 1


def test_the_overlay_is_hot_where_the_map_is():
    heat = np.zeros((8, 8), dtype=np.float32)
    heat[:, :2] = 1.0
    shown = np.asarray(overlay(Image.new("RGB", (64, 64), (0, 0, 80)), heat), dtype=int)
    assert shown[:, :8, 0].mean() > 150 > 50 > shown[:, -16:, 0].mean()


def test_cli_writes_a_map_per_word_and_an_index(tiny_model_dir, tmp_path, capsys):
    check_attention_cli(["--model-dir", str(tiny_model_dir), "--model", "tiny"], tmp_path, capsys)
