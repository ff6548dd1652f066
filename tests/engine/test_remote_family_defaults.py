"""The ComfyUI client repeats the FLUX.1 and SD3 defaults (it must not import the engine):
they stay the engine's."""

from __future__ import annotations

import pytest

from studio.engine.families.flux import Flux
from studio.engine.families.sd3 import StableDiffusion3
from studio.remote import families as remote

ENGINE = {**Flux.variants, **StableDiffusion3.variants}


@pytest.mark.parametrize(
    "family",
    [remote.FLUX_DEV, remote.FLUX_SCHNELL, remote.SD3, remote.SD35_MEDIUM, remote.SD35_LARGE],
    ids=lambda f: f.variant,
)
def test_remote_defaults_are_the_engines(family):
    variant = ENGINE[family.variant]
    assert (family.label, family.family) == (variant.label, variant.family)
    assert family.default_steps == variant.default_steps
    assert family.default_guidance == variant.default_guidance
    assert family.uses_guidance == variant.uses_guidance
    assert family.native_size == (variant.native, variant.native)
