"""The seed and guidance view models on their own, without widgets."""

from __future__ import annotations

from studio.core.settings import Settings
from studio.ui.prompt_state import GuidanceState, SeedState
from tests.ui.fake_engine import FAKE_MODELS

OTHER, SNAIL = FAKE_MODELS  # no recommendation; recommends 2.5


def _record(state) -> list[int]:
    calls: list[int] = []
    state.changed.connect(lambda: calls.append(1))
    return calls


def test_seed_random_used_locked_restored(qapp):
    seed = SeedState()
    changes = _record(seed)
    assert seed.seed() is None
    seed.show_used(11)
    assert (seed.shown, seed.locked, seed.seed()) == (11, False, None)
    seed.set_locked(True)
    assert seed.seed() == 11
    seed.show_used(12)  # a locked seed is never replaced by the one a run used
    assert seed.seed() == 11
    seed.restore(None)
    assert (seed.shown, seed.locked) == (None, False)
    seed.set_locked(True)  # nothing shown: a random seed, locked
    assert seed.seed() is not None
    seed.type(None)
    assert seed.seed() is None and len(changes) == 5


def test_guidance_follows_an_untouched_value_and_keeps_the_users(qapp):
    settings = Settings(default_guidance=7.5)
    guidance = GuidanceState(settings.guidance_for)
    guidance.choose_model(SNAIL)  # the first model sets the start
    assert (guidance.value, guidance.offer) == (2.5, None)
    guidance.choose_model(OTHER)
    assert guidance.value == 7.5
    guidance.set_value(4.0)
    guidance.choose_model(SNAIL)
    assert (guidance.value, guidance.offer) == (4.0, 2.5)
    guidance.use_model_start()
    assert (guidance.value, guidance.offer) == (2.5, None)


def test_a_restored_guidance_is_kept_when_the_first_model_arrives(qapp):
    guidance = GuidanceState(Settings().guidance_for)
    guidance.restore(9.0)
    guidance.choose_model(SNAIL)
    assert (guidance.value, guidance.offer) == (9.0, 2.5)
