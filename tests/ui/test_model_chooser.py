"""The model chooser: models that cannot run, failed loads, and controls a family does not use."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from studio.core.errors import ModelError
from studio.core.models import ModelInfo
from studio.core.settings import Settings
from studio.ui.prompt_panel import PromptPanel
from tests.ui.fake_engine import FAKE_MODELS, FakeEngine

TIMEOUT = 20_000
BROKEN = ModelInfo(
    "broken",
    "Broken",
    "sd1",
    "diffusers",
    Path("/models/broken"),
    problem="model_index.json is unreadable (line 1 column 2)",
)
NO_CFG = ModelInfo(
    "distilled",
    "Distilled",
    "flux",
    "safetensors",
    Path("/models/distilled.safetensors"),
    uses_negative_prompt=False,
    uses_guidance=False,
    uses_true_cfg=True,
)


@pytest.fixture
def panel(qtbot):
    panel = PromptPanel(Settings())
    qtbot.addWidget(panel)
    panel.set_models([*FAKE_MODELS, BROKEN, NO_CFG])
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def test_a_model_that_cannot_run_is_listed_disabled_with_its_reason(panel):
    row = panel.model.findData("broken")
    assert row >= 0
    assert not panel.model.model().item(row).isEnabled()
    assert "cannot run" in panel.model.itemText(row)
    assert "model_index.json is unreadable" in panel.model.itemData(
        row, Qt.ItemDataRole.ToolTipRole
    )
    assert panel.model_id() == "snail-mini"


def test_a_broken_model_is_never_chosen(qtbot):
    panel = PromptPanel(Settings(default_model="broken"))
    qtbot.addWidget(panel)
    panel.set_models([BROKEN, *FAKE_MODELS])
    assert panel.model_id() == "snail-mini"


def test_controls_the_family_does_not_use_are_hidden(panel):
    assert panel.negative.isVisibleTo(panel) and panel.guidance.isVisibleTo(panel)
    panel.model.setCurrentIndex(panel.model.findData("distilled"))
    panel.model.activated.emit(panel.model.currentIndex())
    assert not panel.negative.isVisibleTo(panel) and not panel.guidance.isVisibleTo(panel)
    panel.model.setCurrentIndex(panel.model.findData("snail-mini"))
    panel.model.activated.emit(panel.model.currentIndex())
    assert panel.negative.isVisibleTo(panel) and panel.guidance.isVisibleTo(panel)
    assert not panel.true_cfg.isVisibleTo(panel)


def test_flux_shows_its_negative_prompt_when_true_cfg_is_on(panel):
    panel.model.setCurrentIndex(panel.model.findData("distilled"))
    panel.model.activated.emit(panel.model.currentIndex())
    assert panel.true_cfg.isVisibleTo(panel) and not panel.negative.isVisibleTo(panel)
    panel.true_cfg.setValue(3.5)
    assert panel.negative.isVisibleTo(panel)
    panel.negative.setPlainText("blur")
    request = panel.request()
    assert (request.true_cfg_scale, request.negative_prompt) == (3.5, "blur")
    panel.true_cfg.setValue(1.0)
    assert not panel.negative.isVisibleTo(panel)


def test_the_chooser_goes_back_to_the_loaded_model_when_a_load_fails(make_window, qtbot):
    engine = FakeEngine()
    engine.fail_load("other-sd15", ModelError("cannot load model 'other-sd15': weights missing"))
    window = make_window(engine=engine)
    qtbot.waitUntil(lambda: engine.loaded == "snail-mini", timeout=TIMEOUT)
    panel = window.panel
    index = panel.model.findData("other-sd15")
    panel.model.setCurrentIndex(index)
    panel.model.activated.emit(index)
    qtbot.waitUntil(lambda: "weights missing" in window.notice.text(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: panel.model_id() == "snail-mini", timeout=TIMEOUT)
    assert window.run_status.model_label.text().startswith("Model: Snail Mini")
    assert panel.request().guidance_scale == 2.5  # untouched, it follows the model back
    assert window.notice.text().count("other-sd15") == 1


def test_models_listed_by_the_window_show_broken_ones(make_window):
    engine = FakeEngine(models=(*FAKE_MODELS, dataclasses.replace(BROKEN)))
    window = make_window(engine=engine)
    row = window.panel.model.findData("broken")
    assert row >= 0 and not window.panel.model.model().item(row).isEnabled()
