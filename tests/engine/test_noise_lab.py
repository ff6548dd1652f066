"""The noise lab: the forward process at its extremes, the schedule's curves, and
"denoise from here" starting img2img from the very noise shown; on snail-mini (DDPM
schedule) and on tiny flow-matching models (SD3, FLUX.1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from studio.cli import main
from studio.core.request import GenerationRequest, Mode
from studio.engine.noise_lab import open_lab
from studio.engine.schedulers import make_scheduler
from studio.training.world import ObjectSpec, SceneSpec, render


@pytest.fixture(scope="module")
def snail():
    from studio.engine import Engine, ModelLibrary
    from studio.engine.devices import Placement

    return Engine(ModelLibrary(), Placement.choose("fp32", "cpu"))


@pytest.fixture(scope="module")
def scene() -> Image.Image:
    return render(SceneSpec((ObjectSpec("red", "circle", "large", "left"),), "blue"))


def rmse(a: Image.Image, b: Image.Image) -> float:
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return float(np.sqrt((diff**2).mean()))


def correlation(a: Image.Image, b: Image.Image) -> float:
    x, y = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    return float(np.corrcoef(x, y)[0, 1])


def test_t0_gives_the_image_back_through_the_vae(snail, scene):
    lab = open_lab(snail, "snail-mini", scene, seed=1)
    assert rmse(lab.image_at(0), scene) < 8  # the VAE's own reconstruction error
    assert correlation(lab.image_at(0), scene) > 0.98


def test_the_last_timestep_is_uncorrelated_with_the_image(snail, scene):
    lab = open_lab(snail, "snail-mini", scene, seed=1)
    assert lab.last_timestep == 999
    assert abs(correlation(lab.image_at(999), scene)) < 0.1
    assert torch.equal(lab.latents_at(999), lab.noise)  # zero terminal SNR: nothing left
    middle = correlation(lab.image_at(250), scene)
    assert 0.1 < middle < correlation(lab.image_at(0), scene)


def test_snail_minis_schedule_falls_from_all_signal_to_none(snail):
    lab = open_lab(snail, "snail-mini", Image.new("RGB", (64, 64)), seed=0)
    curves = lab.curves()
    assert curves.signal_name == "alpha-bar"
    assert curves.signal[0] > 0.99 and curves.signal[-1] == 0.0
    assert (np.diff(curves.signal) < 0).all()
    assert curves.snr[-1] == 0.0 and curves.snr[0] > 100


class _StartRecorder:
    """Catches the latents img2img starts from (its one `add_noise` call)."""

    def attach(self, pipe) -> None:
        add_noise = pipe.scheduler.add_noise

        def recording(original, noise, timesteps):
            self.timestep = int(timesteps[0])
            self.start = add_noise(original, noise, timesteps)
            return self.start

        pipe.scheduler.add_noise = recording

    def record(self, step) -> None: ...

    def detach(self, pipe) -> None: ...


@pytest.mark.parametrize(("timestep", "scheduler"), [(500, "DDIM"), (250, "Euler"), (999, "DDIM")])
def test_denoise_from_here_starts_img2img_from_the_noise_shown(snail, scene, timestep, scheduler):
    lab = open_lab(snail, "snail-mini", scene, seed=4)
    base = GenerationRequest(
        "a red circle at the left on a blue background", steps=20, scheduler=scheduler
    )
    request = lab.img2img_request(base, scene, timestep)
    assert request.mode is Mode.IMG2IMG and request.seed == 4
    recorder = _StartRecorder()
    snail.generate(request, observers=[recorder])
    assert abs(recorder.timestep - timestep) <= 1000 / 20 / 2 + 1  # the sampler's nearest step
    shown = lab.latents_at(recorder.timestep)
    if scheduler == "Euler":  # sigma space: x0 + sigma * noise, the same noise scaled
        shown = lab.clean + lab.noise * recorder.start.sub(lab.clean).div(lab.noise).median()
    torch.testing.assert_close(recorder.start, shown, atol=1e-4, rtol=1e-4)


def test_cli_noise_writes_a_grid_of_the_timesteps(tmp_path, scene, capsys):
    image, out = tmp_path / "scene.png", tmp_path / "noise.png"
    scene.save(image)
    status = main(["noise", "--image", str(image), "--t", "0,500,999", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    with Image.open(out) as grid:
        assert grid.width > 3 * 192 and grid.height > 192


def test_cli_noise_refuses_timesteps_outside_the_schedule(tmp_path, scene, capsys):
    image = tmp_path / "scene.png"
    scene.save(image)
    status = main(
        ["noise", "--image", str(image), "--t", "0,1000", "--out", str(tmp_path / "n.png")]
    )
    assert status == 2
    assert "timesteps run from 0 to 999" in capsys.readouterr().err


# -- flow matching (SD3, FLUX.1) ----------------------------------------------------------

FLOW_MODELS = ["sd3", "flux-dev"]


def latent_correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(np.corrcoef(a.flatten().numpy(), b.flatten().numpy())[0, 1])


def vae_round_trip(pipe, image: Image.Image, seed: int) -> Image.Image:
    """Encode and decode with the VAE alone: no scaling, no shift, no noise."""
    with torch.inference_mode():
        pixels = pipe.image_processor.preprocess(image)
        latents = pipe.vae.encode(pixels).latent_dist.sample(torch.Generator().manual_seed(seed))
        decoded = pipe.vae.decode(latents, return_dict=False)[0]
    return pipe.image_processor.postprocess(decoded, output_type="pil")[0]


@pytest.mark.parametrize("model", FLOW_MODELS)
def test_flow_t0_gives_the_image_back_through_the_vae(flow_engine, scene, model):
    lab = open_lab(flow_engine, model, scene, seed=1)
    expected = vae_round_trip(flow_engine.resident(model).base, scene, seed=1)
    assert lab.image_at(0).size == scene.size
    assert rmse(lab.image_at(0), expected) < 0.5
    # The shift and scale matter: decoding the latents without them is another image.
    assert rmse(lab.image_at(0), lab.image_at(20)) > 1


@pytest.mark.parametrize("model", FLOW_MODELS)
def test_flow_last_timestep_is_the_noise_alone(flow_engine, scene, model):
    # The tiny models' VAEs have random weights: their pictures correlate with each other
    # whatever the input, so the test reads the latents, where the image is.
    lab = open_lab(flow_engine, model, scene, seed=1)
    assert lab.last_timestep == 1000
    assert torch.equal(lab.latents_at(1000), lab.noise)  # sigma 1: nothing of the image
    assert abs(latent_correlation(lab.latents_at(1000), lab.clean)) < 0.05
    assert torch.allclose(lab.latents_at(0), lab.clean)
    middle = latent_correlation(lab.latents_at(500), lab.clean)
    assert 0.1 < middle < 0.9


@pytest.mark.parametrize("model", FLOW_MODELS)
def test_flow_curves_fall_from_all_signal_to_none(flow_engine, scene, model):
    curves = open_lab(flow_engine, model, scene, seed=0).curves()
    assert curves.signal_name == "signal share"
    assert len(curves.timesteps) == 1001
    assert curves.signal[0] == 1.0 and curves.signal[-1] == 0.0
    assert (np.diff(curves.signal) < 0).all()
    assert curves.snr[0] > 1e6 and curves.snr[-1] == 0.0
    assert (np.diff(curves.snr) < 0).all()


def test_sd3s_shift_moves_its_timesteps_towards_noise(flow_engine, scene):
    lab = open_lab(flow_engine, "sd3", scene, seed=0)
    # shift 3: training sigma 0.25 becomes 3 * 0.25 / (1 + 2 * 0.25) = 0.5; SNR 1.
    assert lab.forward.model_timestep(250) == pytest.approx(500)
    assert lab.curves().snr[250] == pytest.approx(1.0)


def test_fluxs_shift_grows_with_the_image(flow_engine, scene):
    small = open_lab(flow_engine, "flux-dev", scene, seed=0)
    large = open_lab(flow_engine, "flux-dev", scene.resize((256, 256)), seed=0)
    assert large.forward.model_timestep(500) > small.forward.model_timestep(500) > 500


class _FlowStartRecorder:
    """Catches what flow-matching img2img starts from (its one `scale_noise` call), and the
    whole schedule its pipeline set on the sampler."""

    def attach(self, pipe) -> None:
        scale_noise = pipe.scheduler.scale_noise

        def recording(sample, timestep, noise):
            self.sample, self.noise = sample.clone(), noise.clone()
            self.timestep = float(timestep[0])
            self.schedule = pipe.scheduler.timesteps.clone()
            return scale_noise(sample, timestep, noise)

        pipe.scheduler.scale_noise = recording

    def record(self, step) -> None: ...

    def detach(self, pipe) -> None: ...


@pytest.mark.parametrize(
    ("model", "timestep", "steps"),
    [("sd3", 500, 10), ("flux-dev", 250, 10), ("flux-dev", 700, 25), ("flux-dev", 1000, 6)],
)
def test_flow_denoise_from_here_starts_img2img_from_the_noise_shown(
    flow_engine, scene, model, timestep, steps
):
    lab = open_lab(flow_engine, model, scene, seed=4)
    base = GenerationRequest("a red circle", model=model, steps=steps, scheduler="Euler")
    request = lab.img2img_request(base, scene, timestep)
    assert request.mode is Mode.IMG2IMG and request.seed == 4
    recorder = _FlowStartRecorder()
    flow_engine.generate(request, observers=[recorder])
    torch.testing.assert_close(recorder.sample, lab.clean)
    torch.testing.assert_close(recorder.noise, lab.noise)
    # The lab knows the schedule the pipeline sets (its shift, FLUX.1's sigmas and mu) ...
    resident = flow_engine.resident(model)
    sampler = make_scheduler("Euler", resident.scheduler_config)
    known = resident.adapter.img2img_timesteps(lab.pipe, sampler, steps, *scene.size)
    torch.testing.assert_close(known, recorder.schedule)
    # ... and starts at its timestep nearest the shown noise level.
    nearest = (recorder.schedule - lab.forward.model_timestep(timestep)).abs().argmin()
    assert recorder.timestep == pytest.approx(float(recorder.schedule[nearest]))


@pytest.mark.parametrize("steps", [20, 25, 29, 41, 50])
def test_strength_starts_at_the_chosen_step_whatever_the_rounding(flow_engine, scene, steps):
    lab = open_lab(flow_engine, "flux-dev", scene, seed=0)
    resident = flow_engine.resident("flux-dev")
    for timestep in range(0, 1001, 25):
        strength = lab.strength_for(timestep, "Euler", steps)
        sampler = make_scheduler("Euler", resident.scheduler_config)
        timesteps = resident.adapter.img2img_timesteps(lab.pipe, sampler, steps, 64, 64)
        first = int(max(steps - min(steps * strength, steps), 0))  # the pipelines' rounding
        nearest = int((timesteps - lab.forward.model_timestep(timestep)).abs().argmin())
        assert first == nearest, (timestep, strength)


def test_cli_noise_on_a_flow_model(flow_model_dir, tmp_path, scene, capsys):
    image, out = tmp_path / "scene.png", tmp_path / "noise.png"
    scene.save(image)
    args = ["noise", "--model-dir", str(flow_model_dir), "--model", "flux-dev"]
    status = main([*args, "--image", str(image), "--t", "0,500,1000", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    with Image.open(out) as grid:
        assert grid.width > 3 * 64 and grid.height > 64
    status = main([*args, "--image", str(image), "--t", "1001", "--out", str(out)])
    assert status == 2
    assert "timesteps run from 0 to 1000" in capsys.readouterr().err
