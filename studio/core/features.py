"""What a backend can do, so front ends offer only that (Krita AI Diffusion's `ClientFeatures`)."""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.request import Mode


@dataclass(frozen=True)
class BackendFeatures:
    """Declared by every backend; the window hides the controls a backend has no use for.

    `step_latents`: the step callback can see the latents (a timeline, attention maps and
    x0 previews need them). `local_models`: models come from the user's model folders, so
    folder settings and precision apply. `remote`: jobs run on other machines.
    `parallel_jobs`: how many jobs it runs at once (one per ComfyUI server), so a queue can
    hand it that many.
    """

    modes: frozenset[Mode] = frozenset(Mode)
    live_previews: bool = True
    cancel: bool = True
    step_latents: bool = False
    attention_maps: bool = False
    local_models: bool = False
    remote: bool = False
    parallel_jobs: int = 1


LOCAL_ENGINE_FEATURES = BackendFeatures(step_latents=True, attention_maps=True, local_models=True)
