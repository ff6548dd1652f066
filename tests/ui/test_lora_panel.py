"""The LoRA panel: the current model's LoRAs, add/remove, a weight per LoRA, in the request."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt

from studio.core.loras import LoraRef
from studio.core.request import GenerationRequest
from studio.core.settings import Settings
from studio.ui.prompt_panel import PromptPanel
from tests.ui.fake_engine import FAKE_LORAS, FAKE_MODELS

TIMEOUT = 5000


@pytest.fixture
def panel(qtbot):
    panel = PromptPanel(Settings())
    qtbot.addWidget(panel)
    panel.set_models(list(FAKE_MODELS))
    panel.lora_state.set_available(list(FAKE_LORAS["snail-mini"]))
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _add(panel: PromptPanel, name: str) -> None:
    picker = panel.loras.picker
    picker.setCurrentIndex(next(i for i in range(picker.count()) if picker.itemText(i) == name))
    panel.loras.add_button.click()


def test_the_models_loras_are_offered_and_an_unusable_one_cannot_be_added(panel):
    picker = panel.loras.picker
    texts = [picker.itemText(i) for i in range(picker.count())]
    assert texts == ["ink-wash", "paper-cut", "old-loha (cannot be applied)"]
    _add(panel, "old-loha (cannot be applied)")
    assert panel.lora_state.chosen == ()
    assert not panel.loras.empty.isVisible()


def test_added_loras_go_into_the_request_with_their_weights(panel):
    _add(panel, "ink-wash")
    _add(panel, "paper-cut")
    ink, paper = panel.loras.rows
    ink.slider.setValue(-50)  # slider units are hundredths
    paper.spin.setValue(0.35)
    assert ink.spin.value() == -0.5 and paper.slider.value() == 35
    assert panel.request().loras == (LoraRef("ink-wash", -0.5), LoraRef("paper-cut", 0.35))
    ink.remove.click()
    assert panel.request().loras == (LoraRef("paper-cut", 0.35),)
    assert [row.name for row in panel.loras.rows] == ["paper-cut"]


def test_a_weight_typed_into_the_spin_box_counts_once_complete(panel, qtbot):
    _add(panel, "ink-wash")
    spin = panel.loras.rows[0].spin
    spin.lineEdit().selectAll()
    qtbot.keyClicks(spin.lineEdit(), "0.7")
    qtbot.keyClick(spin.lineEdit(), Qt.Key.Key_Return)
    assert panel.request().loras == (LoraRef("ink-wash", 0.7),)
    assert panel.loras.rows[0].slider.value() == 70


def test_a_restored_request_shows_its_loras(panel):
    panel.set_request(GenerationRequest("cat", loras=(LoraRef("paper-cut", 0.8),)))
    (row,) = panel.loras.rows
    assert (row.name, row.spin.value(), row.slider.value()) == ("paper-cut", 0.8, 80)
    assert panel.request().loras == (LoraRef("paper-cut", 0.8),)


def test_a_model_without_loras_says_so_and_keeps_chosen_ones_marked(panel):
    _add(panel, "ink-wash")
    panel.lora_state.set_available([])
    assert panel.loras.empty.isVisible() and not panel.loras.add_button.isEnabled()
    (row,) = panel.loras.rows
    assert not row.label.isEnabled()  # not for this model: the engine would refuse it


def test_changes_are_announced_for_autosave(panel, qtbot):
    with qtbot.waitSignal(panel.changed, timeout=TIMEOUT):
        _add(panel, "ink-wash")


def test_the_window_lists_loras_on_the_worker_and_sends_them(make_window, qtbot, fake_engine):
    window = make_window()
    panel = window.panel
    qtbot.waitUntil(lambda: panel.loras.picker.count() == 3, timeout=TIMEOUT)
    assert threading.main_thread().name not in fake_engine.threads
    _add(panel, "paper-cut")
    panel.loras.rows[0].spin.setValue(0.6)
    panel.prompt.setPlainText("a snail <lora:ink-wash:0.4>")
    window.generate()
    qtbot.waitUntil(lambda: len(fake_engine.requests) == 1, timeout=TIMEOUT)
    sent = fake_engine.requests[0]
    assert sent.loras == (LoraRef("paper-cut", 0.6),)
    assert sent.applied_loras == (LoraRef("paper-cut", 0.6), LoraRef("ink-wash", 0.4))
    qtbot.waitUntil(lambda: window.queue.running is None, timeout=TIMEOUT)


def test_chosen_loras_come_back_after_closing_and_reopening(make_window, qtbot):
    first = make_window()
    qtbot.waitUntil(lambda: first.panel.loras.picker.count() == 3, timeout=TIMEOUT)
    _add(first.panel, "ink-wash")
    first.panel.loras.rows[0].spin.setValue(0.25)
    first.close()
    second = make_window()
    assert second.panel.lora_state.chosen == (LoraRef("ink-wash", 0.25),)
    assert [row.name for row in second.panel.loras.rows] == ["ink-wash"]
