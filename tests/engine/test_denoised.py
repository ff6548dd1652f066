"""The clean-image estimate (x0): exact for a perfect model output under every sampler and
prediction type, and what the engine's previews show."""

from __future__ import annotations

import threading

import pytest
import torch
from diffusers import FlowMatchEulerDiscreteScheduler

from studio.core.errors import GenerationCancelled
from studio.core.request import GenerationRequest
from studio.core.schedulers import SCHEDULER_NAMES
from studio.engine.denoised import DenoisedTracker, estimate_clean
from studio.engine.schedulers import make_scheduler
from studio.engine.steps import StepRecord
from tests.tiny_families import tiny_sd3_pipeline
from tests.tiny_pipeline import tiny_components

# Without diffusers' record of defaults, which would put the default prediction type back.
BASE_CONFIG = {
    k: v for k, v in tiny_components()["scheduler"].config.items() if k != "_use_default_values"
}


def _perfect_output(prediction: str, clean, noise, alpha_bar):
    if prediction == "epsilon":
        return noise
    return alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * clean


@pytest.mark.parametrize("prediction", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("name", SCHEDULER_NAMES)
def test_x0_is_the_clean_latents_for_a_perfect_model_output(name, prediction):
    scheduler = make_scheduler(name, {**BASE_CONFIG, "prediction_type": prediction})
    tracker = DenoisedTracker(scheduler)
    scheduler.set_timesteps(4)
    generator = torch.Generator().manual_seed(0)
    clean = torch.randn(1, 4, 8, 8, generator=generator)
    noise = torch.randn(1, 4, 8, 8, generator=generator)
    timestep = scheduler.timesteps[0]
    # add_noise puts the sample in the sampler's own space (sigma-scaled for Euler and LMS).
    sample = scheduler.add_noise(clean, noise, timestep.reshape(1))
    alpha_bar = scheduler.alphas_cumprod[int(timestep)]
    output = _perfect_output(prediction, clean, noise, alpha_bar)
    stepped = scheduler.step(output, timestep, sample, return_dict=False)
    assert isinstance(stepped, tuple) and stepped[0].shape == sample.shape
    torch.testing.assert_close(tracker.latest, clean, atol=2e-3, rtol=2e-3)


def test_flow_matching_x0_is_the_sample_less_sigma_times_the_velocity():
    scheduler = FlowMatchEulerDiscreteScheduler()
    tracker = DenoisedTracker(scheduler)
    scheduler.set_timesteps(4)
    clean, noise = torch.randn(1, 16, 64), torch.randn(1, 16, 64)  # packed, as Flux holds it
    sigma = scheduler.sigmas[0]
    sample = (1 - sigma) * clean + sigma * noise
    scheduler.step(noise - clean, scheduler.timesteps[0], sample)
    torch.testing.assert_close(tracker.latest, clean, atol=1e-5, rtol=1e-5)


def test_restoring_puts_the_schedulers_own_step_back():
    scheduler = make_scheduler("DDIM", BASE_CONFIG)
    tracker = DenoisedTracker(scheduler)
    assert "step" in vars(scheduler)
    tracker.restore()
    assert "step" not in vars(scheduler)


def request(**changes) -> GenerationRequest:
    base = {"prompt": "a red circle", "model": "tiny", "steps": 3, "seed": 7}
    return GenerationRequest(**{**base, "width": 64, "height": 64, **changes})


@pytest.mark.parametrize("scheduler", ["DDIM", "DPM++ 2M"])
def test_each_step_previews_x0_and_xt(engine, scheduler):
    updates = []
    engine.generate(request(scheduler=scheduler), on_step=updates.append)
    assert [u.step for u in updates] == [1, 2, 3]
    for update in updates:
        assert update.preview.size == update.noisy_preview.size == (8, 8)
    assert updates[0].preview.tobytes() != updates[0].noisy_preview.tobytes()


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.records: list[StepRecord] = []

    def attach(self, pipe) -> None:
        self.events.append("attach")
        self.scheduler = pipe.scheduler

    def record(self, step: StepRecord) -> None:
        self.records.append(step)

    def detach(self, pipe) -> None:
        self.events.append("detach")


def test_observers_see_every_step_and_are_detached_after_the_run(engine):
    recorder = Recorder()
    engine.generate(request(), observers=[recorder])
    assert recorder.events == ["attach", "detach"]
    assert [r.step for r in recorder.records] == [1, 2, 3]
    assert all(
        r.denoised is not None and r.denoised.shape == (1, 4, 8, 8) for r in recorder.records
    )
    assert "step" not in vars(recorder.scheduler)  # the x0 wrapper is gone too


def test_observers_are_detached_when_the_run_is_cancelled(engine):
    recorder, cancel = Recorder(), threading.Event()
    with pytest.raises(GenerationCancelled):
        engine.generate(
            request(), on_step=lambda update: cancel.set(), cancel=cancel, observers=[recorder]
        )
    assert recorder.events == ["attach", "detach"]


def test_a_flow_matching_pipeline_ends_on_its_last_x0():
    # Flow-matching Euler's last step goes to sigma 0: x_0 = x_t - sigma v, the estimate itself.
    pipe = tiny_sd3_pipeline(with_t5=False)
    pipe.set_progress_bar_config(disable=True)
    tracker = DenoisedTracker(pipe.scheduler)
    seen = []

    def callback(pipe, index, timestep, tensors):
        seen.append((tracker.latest.clone(), tensors["latents"].clone()))
        return tensors

    pipe(
        "a cat",
        num_inference_steps=3,
        height=32,
        width=32,
        output_type="latent",
        callback_on_step_end=callback,
        generator=torch.Generator().manual_seed(0),
    )
    assert len(seen) == 3
    first_x0, first_latents = seen[0]
    last_x0, last_latents = seen[-1]
    torch.testing.assert_close(last_x0, last_latents)
    assert (first_x0 - first_latents).abs().max() > 0.1


def test_unipc_on_flow_sigmas_estimates_x0_the_flow_way():
    """UniPC runs flow-matching models with `flow_prediction`; it keeps an alpha-bar table
    too, which must not be read as a variance-preserving schedule."""
    scheduler = make_scheduler("UniPC", FlowMatchEulerDiscreteScheduler(shift=3.0).config)
    clean, noise = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    sigma = torch.tensor(0.6)
    sample = (1 - sigma) * clean + sigma * noise
    estimate = estimate_clean(scheduler, sample, noise - clean, 500, sigma)
    assert torch.allclose(estimate, clean, atol=1e-5)
