"""The timeline keeps each step's x0 and x_t, within its budget, and writes animations."""

from __future__ import annotations

import sys

import av
import numpy as np
import pytest
from PIL import Image

from studio.cli import main
from studio.core.errors import RequestError
from studio.core.request import GenerationRequest
from studio.engine.timeline import Latent, Timeline


def request(**changes) -> GenerationRequest:
    base = {"prompt": "a red circle", "model": "tiny", "steps": 4, "seed": 3}
    return GenerationRequest(**{**base, "width": 64, "height": 64, **changes})


def rmse(a: Image.Image, b: Image.Image) -> float:
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return float(np.sqrt((diff**2).mean()))


def test_every_step_is_kept_and_decodes_to_a_full_size_image(engine):
    timeline = Timeline()
    result = engine.generate(request(batch_size=2), observers=[timeline])
    assert timeline.steps == [1, 2, 3, 4] and timeline.total == 4
    assert timeline.latents(1, Latent.CLEAN).shape == (1, 4, 8, 8)  # the first image only
    assert not timeline.latents(2, Latent.CLEAN).equal(timeline.latents(2, Latent.NOISY))
    frames = timeline.frames(Latent.NOISY)
    assert [f.size for f in frames] == [(64, 64)] * 4
    # The last x_t is what the pipeline decoded into the result.
    assert rmse(frames[-1], result.images[0]) < 1.0


def test_a_new_run_replaces_the_kept_steps(engine):
    timeline = Timeline()
    engine.generate(request(steps=4), observers=[timeline])
    engine.generate(request(steps=2), observers=[timeline])
    assert timeline.steps == [1, 2]


def test_over_budget_the_first_and_latest_steps_stay(engine):
    one_step = 2 * 4 * 8 * 8 * 4  # x0 and x_t, fp32 (1, 4, 8, 8)
    timeline = Timeline(budget_bytes=3 * one_step)
    engine.generate(request(steps=6), observers=[timeline])
    assert timeline.steps == [1, 5, 6]
    assert timeline.nbytes <= 3 * one_step


def test_a_step_that_is_not_kept_is_named(engine):
    timeline = Timeline()
    engine.generate(request(steps=2), observers=[timeline])
    with pytest.raises(KeyError, match="step 5 is not kept"):
        timeline.decode(5)


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_export_writes_one_frame_per_step(engine, tmp_path, suffix):
    timeline = Timeline()
    engine.generate(request(), observers=[timeline])
    path = timeline.export(tmp_path / f"steps{suffix}")
    with Image.open(path) as animation:
        assert animation.n_frames == 4 and animation.size == (64, 64)


def test_cli_generate_writes_the_timeline(tiny_model_dir, tmp_path, capsys):
    out, timeline = tmp_path / "cat.png", tmp_path / "cat.gif"
    args = ["generate", "--model-dir", str(tiny_model_dir), "--model", "tiny", "--steps", "3"]
    status = main([*args, "--prompt", "a cat", "--out", str(out), "--timeline", str(timeline)])
    stdout = capsys.readouterr().out
    assert status == 0
    assert stdout.split() == [str(out), str(timeline)]
    with Image.open(timeline) as animation:
        assert animation.n_frames == 3


def video_frames(path) -> list[Image.Image]:
    with av.open(str(path)) as container:
        return [frame.to_image() for frame in container.decode(video=0)]


def test_export_writes_an_mp4_with_one_frame_per_step(engine, tmp_path):
    timeline = Timeline()
    engine.generate(request(), observers=[timeline])
    frames = video_frames(timeline.export(tmp_path / "steps.mp4", Latent.NOISY))
    assert [f.size for f in frames] == [(64, 64)] * 4
    # H.264 in yuv420p drops the tiny model's pixel noise; at 8x8 each frame is its step.
    decoded = timeline.frames(Latent.NOISY)
    coarse = [[f.resize((8, 8), Image.Resampling.BOX) for f in fs] for fs in (frames, decoded)]
    assert all(rmse(f, d) < 3 for f, d in zip(*coarse, strict=True))
    assert rmse(coarse[0][0], coarse[1][-1]) > 6


def test_without_pyav_an_mp4_is_refused_before_decoding(engine, tmp_path, monkeypatch):
    timeline = Timeline()
    engine.generate(request(steps=2), observers=[timeline])
    monkeypatch.setitem(sys.modules, "av", None)  # as if not installed: import av fails
    monkeypatch.setattr(timeline, "frames", lambda which: pytest.fail("decoded the steps"))
    with pytest.raises(RequestError, match=r"^writing \.mp4 needs PyAV, which is not installed"):
        timeline.export(tmp_path / "steps.mp4")


def test_cli_generate_writes_an_mp4_timeline(tiny_model_dir, tmp_path, capsys):
    out, timeline = tmp_path / "cat.png", tmp_path / "cat.mp4"
    args = ["generate", "--model-dir", str(tiny_model_dir), "--model", "tiny", "--steps", "3"]
    status = main([*args, "--prompt", "a cat", "--out", str(out), "--timeline", str(timeline)])
    assert status == 0, capsys.readouterr().err
    assert len(video_frames(timeline)) == 3


def test_cli_refuses_a_timeline_it_cannot_write(tiny_model_dir, tmp_path, capsys, monkeypatch):
    status = main(["generate", "--prompt", "a cat", "--timeline", str(tmp_path / "t.avi")])
    assert status == 2
    assert "--timeline must end in .webp or .gif or .mp4" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "av", None)
    status = main(["generate", "--prompt", "a cat", "--timeline", str(tmp_path / "t.mp4")])
    assert status == 2
    error = capsys.readouterr().err
    assert "writing .mp4 needs PyAV, which is not installed: pip install av" in error
    assert len(error.strip().splitlines()) == 1


@pytest.mark.parametrize("model", ["sd3", "flux-dev"])
def test_flow_models_steps_decode_to_full_size_images(flow_engine, model):
    """FLUX.1's latents come packed (B, tokens, 64): the timeline gets them on the grid.
    64x48 (not square) would show width and height swapped."""
    timeline = Timeline()
    flow = request(model=model, steps=3, height=48, scheduler="Euler")
    result = flow_engine.generate(flow, observers=[timeline])
    assert timeline.steps == [1, 2, 3]
    assert timeline.latents(1, Latent.CLEAN).shape == (1, 16, 6, 8)
    assert timeline.latents(1, Latent.NOISY).shape == (1, 16, 6, 8)
    assert [f.size for f in timeline.frames(Latent.CLEAN)] == [(64, 48)] * 3
    noisy = timeline.frames(Latent.NOISY)
    assert [f.size for f in noisy] == [(64, 48)] * 3
    # The last x_t is what the pipeline decoded (unpacked, unscaled, unshifted) into the result.
    assert rmse(noisy[-1], result.images[0]) < 1.0
    assert rmse(noisy[0], result.images[0]) > 1.0
