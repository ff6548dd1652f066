from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from studio.core.errors import GenerationCancelled, ModelError, RequestError
from studio.core.request import GenerationRequest, Mode
from studio.core.schedulers import SCHEDULER_NAMES


def request(**changes) -> GenerationRequest:
    base = {
        "prompt": "a red circle",
        "model": "tiny",
        "steps": 3,
        "seed": 7,
        "width": 64,
        "height": 64,
    }
    return GenerationRequest(**{**base, **changes})


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_txt2img_makes_images_of_the_requested_size(engine):
    result = engine.generate(request(width=64, height=128, batch_size=2))
    assert [im.size for im in result.images] == [(64, 128), (64, 128)]
    assert result.seeds == [7, 8]
    assert result.request.width == 64 and result.request.seed == 7
    assert result.timings["total"] >= result.timings["denoise"] > 0


def test_same_request_and_seed_give_identical_pixels(engine):
    first = engine.generate(request())
    second = engine.generate(request())
    other = engine.generate(request(seed=8))
    assert np.array_equal(pixels(first.images[0]), pixels(second.images[0]))
    assert not np.array_equal(pixels(first.images[0]), pixels(other.images[0]))


def test_batch_image_n_is_the_single_image_of_seed_plus_n(engine):
    batch = engine.generate(request(batch_size=3))
    single = engine.generate(request(seed=9))
    # Batched matmuls round differently: equal up to a level or two, not bit for bit.
    assert np.abs(pixels(batch.images[2]) - pixels(single.images[0])).max() <= 3
    assert np.abs(pixels(batch.images[1]) - pixels(single.images[0])).max() > 10


def test_native_size_and_random_seed_are_resolved(engine):
    result = engine.generate(request(width=None, height=None, seed=None))
    assert result.request.size == (64, 64)
    assert result.request.seed is not None and result.seeds == [result.request.seed]


def test_every_step_reports_a_latent_preview(engine):
    updates = []
    engine.generate(request(steps=4, width=64, height=96), on_step=updates.append)
    assert [u.step for u in updates] == [1, 2, 3, 4]
    assert all(u.total == 4 for u in updates)
    assert updates[-1].preview.size == (8, 12)  # latents are 8x smaller than the image
    assert updates[-1].preview.mode == "RGB"
    assert updates[0].elapsed <= updates[-1].elapsed


@pytest.mark.parametrize("name", SCHEDULER_NAMES)
def test_every_scheduler_runs(engine, name):
    updates = []
    result = engine.generate(request(scheduler=name, steps=4), on_step=updates.append)
    assert result.images[0].size == (64, 64)
    assert updates and updates[-1].step == updates[-1].total


def test_schedulers_differ(engine):
    ddim = engine.generate(request(scheduler="DDIM")).images[0]
    euler_a = engine.generate(request(scheduler="Euler a")).images[0]
    assert not np.array_equal(pixels(ddim), pixels(euler_a))


def test_unknown_scheduler_is_a_request_error(engine):
    with pytest.raises(RequestError, match="unknown scheduler 'Heun'"):
        engine.generate(request(scheduler="Heun"))


def test_img2img_runs_strength_times_steps_and_keeps_the_input_size(engine):
    init = engine.generate(request()).images[0]
    updates = []
    result = engine.generate(
        request(
            mode=Mode.IMG2IMG, init_image=init, strength=0.5, steps=10, width=None, height=None
        ),
        on_step=updates.append,
    )
    assert updates[-1].total == 5
    assert result.images[0].size == init.size


def test_img2img_low_strength_stays_closer_to_the_input_than_high(engine):
    init = engine.generate(request(seed=1)).images[0]
    low = engine.generate(request(mode=Mode.IMG2IMG, init_image=init, strength=0.2, steps=10))
    high = engine.generate(request(mode=Mode.IMG2IMG, init_image=init, strength=1.0, steps=10))
    distance = lambda im: np.abs(pixels(im) - pixels(init)).mean()  # noqa: E731
    assert distance(low.images[0]) < distance(high.images[0])


def square_mask(size=(64, 64), box=(16, 16, 48, 48)) -> Image.Image:
    mask = Image.new("L", size, 0)
    mask.paste(255, box)
    return mask


@pytest.mark.parametrize("feather", [0, 6])
def test_inpaint_changes_only_the_masked_pixels(engine, feather):
    init = engine.generate(request(seed=3)).images[0]
    mask = square_mask()
    result = engine.generate(
        request(
            mode=Mode.INPAINT,
            init_image=init,
            mask=mask,
            strength=1.0,
            mask_feather=feather,
            seed=4,
        )
    )
    out, original, inside = pixels(result.images[0]), pixels(init), np.asarray(mask) > 0
    assert np.array_equal(out[~inside], original[~inside])
    assert np.abs(out[inside] - original[inside]).mean() > 5


def test_inpaint_mask_of_the_wrong_size_is_refused_before_loading(engine):
    init = Image.new("RGB", (64, 64))
    with pytest.raises(RequestError, match="mask is 32x32 but the input image is 64x64"):
        engine.generate(
            request(
                mode=Mode.INPAINT,
                init_image=init,
                mask=square_mask((32, 32), (0, 0, 8, 8)),
                model="nope",
            )
        )


def test_cancel_stops_within_a_step_and_skips_the_vae_decode(engine, monkeypatch):
    cancel = threading.Event()
    updates = []
    engine.load_model("tiny")
    vae = engine._cache.current.base.vae
    decodes = []
    monkeypatch.setattr(vae, "decode", lambda *a, **k: decodes.append(1))

    def on_step(update):
        updates.append(update)
        if update.step == 2:
            cancel.set()

    with pytest.raises(GenerationCancelled):
        engine.generate(request(steps=10), on_step=on_step, cancel=cancel)
    assert len(updates) == 2
    assert decodes == []


def test_a_cancel_set_before_the_run_produces_nothing(engine):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationCancelled):
        engine.generate(request(), cancel=cancel)


def test_bf16_autocast_on_cpu_makes_an_image(tiny_model_dir, tmp_path):
    from studio.engine import Engine, ModelLibrary
    from studio.engine.devices import Placement

    engine = Engine(
        ModelLibrary([tiny_model_dir], embedded_dir=tmp_path), Placement.choose("bf16", "cpu")
    )
    result = engine.generate(request())
    assert engine.placement.label == "cpu bfloat16"
    assert np.asarray(result.images[0]).std() > 0


def test_fp16_on_cpu_is_refused_with_a_clear_message():
    from studio.engine.devices import Placement

    with pytest.raises(RequestError, match="fp16 needs a CUDA GPU"):
        Placement.choose("fp16", "cpu")


def test_unknown_model_is_a_model_error(engine):
    with pytest.raises(ModelError, match="unknown model 'missing'"):
        engine.generate(request(model="missing"))


def test_broken_model_fails_cleanly_and_the_previous_model_still_works(
    engine, tiny_model_dir, tmp_path
):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model_dir / "tiny", broken)
    (broken / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"not a safetensors file")
    engine.load_model("tiny")
    with pytest.raises(ModelError, match="cannot load model 'broken'") as failure:
        engine.generate(request(model=str(broken)))
    assert "\n" not in str(failure.value)
    assert engine._cache.current.info.id == "tiny"
    assert engine.generate(request()).images


def test_ddpm_runs_a_thousand_steps_schedule_without_index_errors(engine):
    from studio.engine.schedulers import make_scheduler

    engine.load_model("tiny")
    scheduler = make_scheduler("DDPM", engine._cache.current.scheduler_config)
    scheduler.set_timesteps(1000)
    assert int(scheduler.timesteps.max()) == 999 and int(scheduler.timesteps.min()) == 0
