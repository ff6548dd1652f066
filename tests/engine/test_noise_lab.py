"""The noise lab: the forward process at its extremes, the schedule's curves, and
"denoise from here" starting img2img from the very noise shown."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from studio.cli import main
from studio.core.request import GenerationRequest, Mode
from studio.engine.noise_lab import open_lab, schedule_curves
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
    curves = schedule_curves(lab.scheduler_config)
    assert curves.alpha_bar[0] > 0.99 and curves.alpha_bar[-1] == 0.0
    assert (np.diff(curves.alpha_bar) < 0).all()
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
