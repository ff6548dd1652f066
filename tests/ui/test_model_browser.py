"""The model chooser: families in the combo, the browser with filter, reasons, notes and last
images, and a PNG's "Model hash" picking the model it was made with."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from studio.core.models import ModelInfo
from studio.core.request import GenerationRequest
from studio.core.settings import Settings
from studio.ui import tasks
from studio.ui.image_info_dialog import ImportChoice
from studio.ui.prompt_panel import PromptPanel
from tests.ui.fake_engine import FAKE_MODELS, FakeEngine

TIMEOUT = 20_000
COMFY = Path("/home/me/ComfyUI/models")


def _model(model_id: str, name: str, family: str, label: str, folder: str, **fields) -> ModelInfo:
    path = COMFY / folder / f"{model_id}.safetensors"
    return ModelInfo(model_id, name, family, "safetensors", path, family_label=label, **fields)


XL = _model(
    "sdxl-base",
    "SDXL base 1.0",
    "sdxl",
    "SDXL",
    "checkpoints",
    native_size=(1024, 1024),
    file_bytes=6_938_078_334,
    short_hash="31e35c80fc",
)
MEDIUM = _model(
    "sd35-medium",
    "SD3.5 medium",
    "sd3",
    "SD3.5 medium",
    "checkpoints",
    native_size=(1024, 1024),
    notes=("runs without T5-XXL (no t5xxl file found)",),
)
DEV = _model(
    "flux-dev",
    "FLUX.1 dev",
    "flux",
    "FLUX.1 dev",
    "diffusion_models",
    native_size=(1024, 1024),
    problem="needs 33.2 GB of memory, this machine has 24.0 GB",
)
MODELS = (*FAKE_MODELS, XL, MEDIUM, DEV)


@pytest.fixture
def panel(qtbot):
    panel = PromptPanel(Settings())
    qtbot.addWidget(panel)
    panel.set_models(list(MODELS))
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _combo_rows(panel) -> list[tuple[str, object, bool]]:
    combo = panel.model
    items = combo.model()
    return [
        (combo.itemText(i).strip(), combo.itemData(i), items.item(i).isEnabled())
        for i in range(combo.count())
    ]


def test_the_combo_groups_models_under_family_headers_that_cannot_be_chosen(panel):
    assert _combo_rows(panel) == [
        ("snail-mini", None, False),
        ("Snail Mini  (built in)", "snail-mini", True),
        ("FLUX.1 dev", None, False),
        ("FLUX.1 dev  (cannot run)", "flux-dev", False),
        ("sd1", None, False),
        ("Other SD 1.5", "other-sd15", True),
        ("SD3.5 medium", None, False),
        ("SD3.5 medium", "sd35-medium", True),
        ("SDXL", None, False),
        ("SDXL base 1.0", "sdxl-base", True),
    ]


def test_the_browser_shows_families_sizes_folders_reasons_and_notes(panel):
    chooser = panel.open_model_chooser()
    assert chooser.visible_ids() == [
        "snail-mini",
        "flux-dev",
        "other-sd15",
        "sd35-medium",
        "sdxl-base",
    ]
    assert (
        chooser.row_text("sdxl-base")
        == f"1024\u00d71024 native \u00b7 safetensors 6.9 GB \u00b7 {COMFY}/checkpoints"
    )
    assert "Cannot run: needs 33.2 GB of memory" in chooser.row_text("flux-dev")
    assert "runs without T5-XXL" in chooser.row_text("sd35-medium")
    assert chooser.status.text() == "4 of 5 models can run here"
    assert not chooser.select("flux-dev")  # shown with its reason, never picked


def test_typing_filters_the_browser_and_enter_picks(panel, qtbot):
    chooser = panel.open_model_chooser()
    qtbot.keyClicks(chooser.filter, "sd")
    assert chooser.visible_ids() == ["other-sd15", "sd35-medium", "sdxl-base"]
    chooser.filter.clear()
    qtbot.keyClicks(chooser.filter, "t5")
    assert chooser.visible_ids() == ["sd35-medium"]
    with qtbot.waitSignal(panel.model_chosen) as chosen:
        qtbot.keyClick(chooser.filter, Qt.Key.Key_Return)
    assert chosen.args == ["sd35-medium"]
    assert panel.model_id() == "sd35-medium" and not chooser.isVisible()
    assert panel.size.preset.currentText() == "Native (1024\u00d71024)"


def test_a_model_that_cannot_run_is_never_picked_from_the_browser(panel, qtbot):
    chooser = panel.open_model_chooser()
    qtbot.keyClicks(chooser.filter, "flux")
    assert chooser.visible_ids() == ["flux-dev"]
    ok = chooser.buttons.button(chooser.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    qtbot.keyClick(chooser.filter, Qt.Key.Key_Return)
    assert chooser.isVisible() and panel.model_id() == "snail-mini"


def test_a_model_hash_picks_the_model_whatever_its_name(panel):
    request = GenerationRequest("a fox", model="sd_xl_base_1.0_renamed")
    notes = panel.set_request(request, model_hash="31E35C80FC")
    assert panel.model_id() == "sdxl-base"
    assert notes == ["model 'sd_xl_base_1.0_renamed' found by its hash as SDXL base 1.0"]
    panel.set_request(dataclasses.replace(request, model="other-sd15"), model_hash="ffffffffff")
    assert panel.model_id() == "other-sd15"


def test_a_webui_png_with_a_known_hash_restores_that_model(
    make_window, qtbot, tmp_path, monkeypatch
):
    window = make_window(engine=FakeEngine(models=MODELS))
    info = PngImagePlugin.PngInfo()
    info.add_text(
        "parameters",
        "a fox\nSteps: 20, Sampler: Euler, CFG scale: 6, Seed: 7, Size: 64x64,"
        " Model hash: 31e35c80fc, Model: my_sdxl",
    )
    path = tmp_path / "webui.png"
    Image.new("RGB", (64, 64), "gray").save(path, pnginfo=info)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    window.workspace.choose_import = lambda *_args: ImportChoice.PARAMETERS
    window.actions_.open.trigger()
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=TIMEOUT)
    assert window.panel.model_id() == "sdxl-base"
    assert "found by its hash" in window.statusBar().currentMessage()


def test_arrow_keys_move_through_the_models_while_typing(panel, qtbot):
    chooser = panel.open_model_chooser()
    qtbot.keyClicks(chooser.filter, "sd")
    assert chooser.visible_ids() == ["other-sd15", "sd35-medium", "sdxl-base"]
    assert chooser.list.currentItem().data(Qt.ItemDataRole.UserRole) == "other-sd15"
    qtbot.keyClick(chooser.filter, Qt.Key.Key_Down)  # over the SD3.5 header
    qtbot.keyClick(chooser.filter, Qt.Key.Key_Down)  # and the SDXL one
    with qtbot.waitSignal(panel.model_chosen) as chosen:
        qtbot.keyClick(chooser.filter, Qt.Key.Key_Return)
    assert chosen.args == ["sdxl-base"]
