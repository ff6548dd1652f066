"""The prompt panel on its own: reading, restoring, and what each mode shows."""

from __future__ import annotations

import pytest

from studio.core.request import GenerationRequest, Mode
from studio.core.settings import Settings
from studio.ui.prompt_panel import PromptPanel
from tests.ui.fake_engine import FAKE_MODELS


@pytest.fixture
def panel(qtbot):
    panel = PromptPanel(Settings(default_steps=25, default_scheduler="Euler a"))
    qtbot.addWidget(panel)
    panel.set_models(list(FAKE_MODELS))
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_defaults_come_from_settings(panel):
    request = panel.request()
    assert (request.steps, request.scheduler, request.mode) == (25, "Euler a", Mode.TXT2IMG)
    assert request.seed is None and request.size is None


def test_models_listed_embedded_first_and_selected(panel):
    header = panel.model.model().item(0)
    assert header.text() == "snail-mini" and not header.isEnabled()  # the family's header
    assert panel.model.itemData(1) == "snail-mini"
    assert "built in" in panel.model.itemText(1)
    assert panel.model_id() == "snail-mini"
    assert panel.size.preset.currentText() == "Native (256\u00d7256)"


def _choose_model(panel, model_id: str) -> None:
    index = panel.model.findData(model_id)
    panel.model.setCurrentIndex(index)
    panel.model.activated.emit(index)


def test_guidance_starts_at_the_models_recommendation_else_the_default(panel):
    assert panel.request().guidance_scale == 2.5  # the fake snail-mini recommends 2.5
    assert "around 2.5" in panel.guidance.toolTip()
    assert panel.guidance_hint.isHidden()  # already at the recommendation
    for model_id, guidance, tip in (("other-sd15", 7.5, False), ("snail-mini", 2.5, True)):
        _choose_model(panel, model_id)  # untouched, the guidance follows the model
        assert panel.request().guidance_scale == guidance
        assert ("around 2.5" in panel.guidance.toolTip()) is tip


def test_switching_models_keeps_the_users_guidance_and_offers_the_recommendation(panel):
    _choose_model(panel, "other-sd15")  # no recommendation
    panel.guidance.setValue(4.0)
    _choose_model(panel, "snail-mini")  # recommends 2.5
    assert panel.request().guidance_scale == 4.0
    assert panel.guidance_hint.isVisibleTo(panel) and panel.guidance_hint.text() == "Use 2.5"
    panel.guidance_hint.click()
    assert panel.request().guidance_scale == 2.5 and panel.guidance_hint.isHidden()
    panel.guidance.setValue(6.0)
    _choose_model(panel, "other-sd15")
    assert panel.request().guidance_scale == 6.0 and panel.guidance_hint.isHidden()


def test_a_locked_seed_is_unmistakable(panel):
    unlocked = panel.seed.lock.text()
    panel.seed_state.restore(1234)
    assert panel.seed_state.locked and panel.seed.lock.text() != unlocked
    assert "Locked" in panel.seed.lock.text() and panel.seed.field.property("locked") is True
    panel.seed.lock.click()
    assert panel.seed.lock.text() == unlocked and panel.seed.field.property("locked") is False


def test_a_model_offers_only_the_samplers_that_work_on_it(panel):
    def enabled(name: str) -> bool:
        return panel.scheduler.model().item(panel.scheduler.findText(name)).isEnabled()

    assert not enabled("PNDM") and enabled("DDIM")  # the fake snail-mini: zero terminal SNR
    _choose_model(panel, "other-sd15")
    panel.scheduler.setCurrentText("PNDM")
    assert enabled("PNDM")
    _choose_model(panel, "snail-mini")
    assert panel.request().scheduler == "Euler a"  # the settings' default sampler
    notes = panel.set_request(GenerationRequest("x", model="snail-mini", scheduler="LMS"))
    assert notes == ["sampler 'LMS' is not available for snail-mini; kept Euler a"]


def test_a_restored_request_keeps_its_guidance_when_models_arrive(qtbot):
    panel = PromptPanel(Settings())
    qtbot.addWidget(panel)
    panel.set_request(GenerationRequest("a red circle", guidance_scale=9.0))
    panel.set_models(list(FAKE_MODELS))
    assert (panel.model_id(), panel.request().guidance_scale) == ("snail-mini", 9.0)


def test_choosing_a_model_emits_it(panel, qtbot):
    with qtbot.waitSignal(panel.model_chosen) as chosen:
        _choose_model(panel, "other-sd15")
    assert chosen.args == ["other-sd15"]


@pytest.mark.parametrize(
    ("mode", "strength", "size", "input_row", "mask_tools"),
    [
        (Mode.TXT2IMG, False, True, False, False),
        (Mode.IMG2IMG, True, False, True, False),
        (Mode.INPAINT, True, False, True, True),
    ],
)
def test_mode_shows_only_the_controls_it_uses(panel, mode, strength, size, input_row, mask_tools):
    from PySide6.QtWidgets import QLabel

    tools = QLabel("mask tools")
    panel.set_mask_tools(tools)
    panel.set_mode(mode)
    assert panel.strength.isVisible() is strength
    assert panel.size.isVisible() is size
    assert panel.input_row.isVisible() is input_row
    assert tools.isVisible() is mask_tools
    request = panel.request()
    assert request.mode is mode
    if mode.uses_init_image:
        assert request.size is None  # results keep the input image's size


def test_set_request_round_trips(panel):
    original = GenerationRequest(
        prompt="a snail, oil painting",
        negative_prompt="blurry",
        mode=Mode.IMG2IMG,
        model="other-sd15",
        scheduler="DPM++ 2M Karras",
        steps=33,
        guidance_scale=5.5,
        seed=4_000_000_000,
        strength=0.4,
        batch_size=3,
    )
    assert panel.set_request(original) == []
    assert panel.request() == original


def test_restored_size_picks_preset_custom_or_native(panel):
    panel.set_request(GenerationRequest("x", width=768, height=512))
    assert panel.size.preset.currentText() == "Landscape 3:2"
    panel.set_request(GenerationRequest("x", width=640, height=384))
    assert panel.size.preset.currentText() == "Custom"
    assert panel.size.width_spin.isVisible()
    assert panel.request().size == (640, 384)
    panel.set_request(GenerationRequest("x", width=256, height=256))
    assert panel.size.preset.currentIndex() == 0  # the model's native size
    assert panel.request().size is None


def test_custom_size_snaps_to_multiples_of_8(panel, qtbot):
    panel.size.set_size((640, 384))
    panel.size.width_spin.setValue(517)
    panel.size.width_spin.editingFinished.emit()
    assert panel.request().width == 520


def test_unknown_model_and_sampler_are_reported(panel):
    notes = panel.set_request(GenerationRequest("x", model="sdxl-foo", scheduler="Heun++"))
    assert any("sdxl-foo" in note for note in notes)
    assert any("Heun++" in note for note in notes)
    assert panel.model_id() == "snail-mini"


def test_seed_random_lock_and_shown(panel, qtbot):
    assert panel.request().seed is None
    panel.show_used_seed(1234)
    assert panel.seed.field.text() == "1234" and panel.request().seed is None
    panel.seed.lock.click()
    assert panel.request().seed == 1234
    panel.show_used_seed(99)  # a locked seed is not replaced by the one a run used
    assert panel.request().seed == 1234
    panel.seed.lock.click()
    assert panel.request().seed is None
    qtbot.keyClicks(panel.seed.field, "7")  # typing a seed locks it
    assert panel.request().seed == 12347
    panel.seed.dice.click()
    assert panel.request().seed not in (None, 12347)


def test_running_changes_generate_to_queue(panel):
    panel.set_running(True)
    assert panel.generate_button.text() == "Add to queue" and panel.cancel_button.isEnabled()
    panel.set_running(False)
    assert panel.generate_button.text() == "Generate" and not panel.cancel_button.isEnabled()


def test_changes_are_announced_for_autosave(panel, qtbot):
    with qtbot.waitSignal(panel.changed):
        qtbot.keyClicks(panel.prompt, "moss")
    with qtbot.waitSignal(panel.changed):
        panel.steps.setValue(12)
