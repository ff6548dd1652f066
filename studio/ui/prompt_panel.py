"""The prompt panel: what to generate, with which model and settings, and the Generate button.

`request()` reads the controls into a `GenerationRequest` (images are added by the window);
`set_request()` restores one. Controls a mode does not use are hidden or disabled.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from studio.core.models import ModelInfo
from studio.core.request import MAX_BATCH, GenerationRequest, Mode
from studio.core.schedulers import SCHEDULER_NAMES
from studio.core.settings import Settings
from studio.ui.lora_panel import LoraPanel
from studio.ui.lora_state import LoraState
from studio.ui.model_chooser import ModelChooser
from studio.ui.model_list import ModelList
from studio.ui.param_widgets import SeedEdit, SizeChooser, size_text
from studio.ui.prompt_state import GuidanceState, SeedState

THUMB = 56
GUIDANCE_TIP = "Guidance (CFG) scale: how closely to follow the prompt"
TRUE_CFG_TIP = (
    "Real classifier-free guidance with the negative prompt (FLUX.1). 1 is off: the model's "
    "own distilled guidance alone. Above 1 the negative prompt counts, at twice the work."
)
NO_INPUT = "No input image yet: open (Ctrl+O), paste (Ctrl+V) or drop one on the canvas."


class PromptPanel(QWidget):
    generate_requested = Signal()
    cancel_requested = Signal()
    model_chosen = Signal(str)  # the user picked another model
    mode_changed = Signal(object)  # Mode
    changed = Signal()  # any parameter changed (autosave listens)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_list = ModelList(self)  # the combo and the chooser are views of it
        self._mask_tools: QWidget | None = None
        self.settings = settings  # the window hands over new settings when they change
        self.prompt = _text_box("Describe the image…  (Ctrl+Enter generates)", 4)
        self.negative = _text_box("What to avoid (optional)", 2)
        self.mode_buttons = QButtonGroup(self)
        self.model = QComboBox()
        self.model.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.model.setMinimumContentsLength(12)
        self.browse_models = QToolButton(text="\u2026")
        self.browse_models.setToolTip(
            "Browse the models: families, sizes, folders, last images; type to filter"
        )
        self.scheduler = QComboBox()
        self.scheduler.addItems(SCHEDULER_NAMES)
        self.steps = _spin(1, 150, "Denoising steps: more is slower and usually finer")
        # Seed and guidance live in view models; these widgets show and edit them.
        self.seed_state = SeedState(self)
        self.guidance_state = GuidanceState(lambda info: self.settings.guidance_for(info), self)
        self.guidance = _double_spin(0.0, 30.0, 0.5, GUIDANCE_TIP)
        self.guidance_hint = QToolButton()  # offers the model's recommendation, never forces it
        self.guidance_hint.hide()
        self.size = SizeChooser()
        self.true_cfg = _double_spin(1.0, 30.0, 0.5, TRUE_CFG_TIP)
        self.true_cfg.setValue(1.0)
        self.strength = _double_spin(
            0.01, 1.0, 0.05, "How much to change the input: 1 repaints it fully"
        )
        self.batch = _spin(1, MAX_BATCH, "Images per run")
        self.seed = SeedEdit(self.seed_state)
        self.lora_state = LoraState(self)
        self.loras = LoraPanel(self.lora_state)
        self.input_thumb = QLabel()
        self.input_thumb.setFixedSize(THUMB, THUMB)
        self.input_thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.input_thumb.setObjectName("inputThumb")
        self.input_text = QLabel(NO_INPUT)
        self.input_text.setWordWrap(True)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setObjectName("generateButton")
        self.generate_button.setToolTip(
            "Generate (Ctrl+Enter); while a job runs, adds to the queue"
        )
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Cancel the running job (Esc)")
        self.cancel_button.setEnabled(False)
        self._build()
        self._apply_defaults()
        self._connect()
        self._update_mode()

    # -- layout ----------------------------------------------------------------------------

    def _build(self) -> None:
        modes = QHBoxLayout()
        modes.setSpacing(0)
        for mode in Mode:
            button = QToolButton(text=mode.label)
            button.setCheckable(True)
            button.setObjectName("modeButton")
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.mode_buttons.addButton(button)
            button.setProperty("mode", mode.value)
            modes.addWidget(button)
        self.mode_buttons.buttons()[0].setChecked(True)

        self.input_row = QWidget()
        input_layout = QHBoxLayout(self.input_row)
        input_layout.setContentsMargins(0, 0, 0, 0)
        input_layout.addWidget(self.input_thumb)
        input_layout.addWidget(self.input_text, 1)

        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        model_row = QWidget()
        model_layout = QHBoxLayout(model_row)
        model_layout.setContentsMargins(0, 0, 0, 0)
        model_layout.addWidget(self.model, 1)
        model_layout.addWidget(self.browse_models)
        self.form.addRow("Model", model_row)
        self.form.addRow("Sampler", self.scheduler)
        self.form.addRow("Steps", self.steps)
        self.guidance_row = QWidget()
        guidance_layout = QHBoxLayout(self.guidance_row)
        guidance_layout.setContentsMargins(0, 0, 0, 0)
        guidance_layout.addWidget(self.guidance, 1)
        guidance_layout.addWidget(self.guidance_hint)
        self.form.addRow("Guidance", self.guidance_row)
        self.form.addRow("True CFG", self.true_cfg)
        self.form.addRow("Size", self.size)
        self.form.addRow("Strength", self.strength)
        self.form.addRow("Batch", self.batch)
        self.form.addRow("Seed", self.seed)

        # Generate stays in view however short the window: the window pins this bar below the
        # panel's scroll area rather than scrolling it away.
        self.button_bar = QWidget()
        buttons = QHBoxLayout(self.button_bar)
        buttons.setContentsMargins(9, 6, 9, 9)
        buttons.addWidget(self.generate_button, 3)
        buttons.addWidget(self.cancel_button, 1)

        layout = self._layout = QVBoxLayout(self)
        layout.addLayout(modes)
        layout.addWidget(_caption("Prompt"))
        layout.addWidget(self.prompt, 3)
        self._negative_caption = _caption("Negative prompt")
        layout.addWidget(self._negative_caption)
        layout.addWidget(self.negative, 1)
        layout.addWidget(self.input_row)
        layout.addLayout(self.form)
        layout.addWidget(_caption("LoRAs"))
        layout.addWidget(self.loras)
        layout.addStretch(0)

    def _connect(self) -> None:
        self.mode_buttons.buttonToggled.connect(lambda _b, on: on and self._update_mode())
        self.model.activated.connect(self._model_activated)
        self.browse_models.clicked.connect(self.open_model_chooser)
        self.generate_button.clicked.connect(self.generate_requested)
        self.guidance_hint.clicked.connect(self.guidance_state.use_model_start)
        self.guidance.valueChanged.connect(self.guidance_state.set_value)
        self.guidance_state.changed.connect(self._show_guidance)
        self.true_cfg.valueChanged.connect(self._update_for_model)
        self.cancel_button.clicked.connect(self.cancel_requested)
        for signal in (
            self.prompt.textChanged,
            self.negative.textChanged,
            self.scheduler.currentIndexChanged,
            self.steps.valueChanged,
            self.guidance_state.changed,
            self.true_cfg.valueChanged,
            self.strength.valueChanged,
            self.batch.valueChanged,
            self.size.changed,
            self.seed_state.changed,
            self.lora_state.changed,
        ):
            signal.connect(self.changed)

    # -- reading and restoring -------------------------------------------------------------

    def mode(self) -> Mode:
        return Mode(self.mode_buttons.checkedButton().property("mode"))

    def set_mode(self, mode: Mode) -> None:
        for button in self.mode_buttons.buttons():
            if button.property("mode") == mode.value:
                button.setChecked(True)

    def allow_modes(self, modes: frozenset[Mode]) -> None:
        """Offer only the modes the backend runs; a mode it lacks falls back to text to image."""
        for button in self.mode_buttons.buttons():
            button.setEnabled(Mode(button.property("mode")) in modes)
        if self.mode() not in modes:
            self.set_mode(Mode.TXT2IMG)

    def model_id(self) -> str:
        return self.model.currentData() or self.model.currentText()

    def model_info(self, model_id: str | None = None) -> ModelInfo | None:
        return self.model_list.info(model_id or self.model_id())

    def request(self) -> GenerationRequest:
        """The request the controls describe, without input image or mask."""
        mode = self.mode()
        size = None if mode.uses_init_image else self.size.size()
        return GenerationRequest(
            prompt=self.prompt.toPlainText().strip(),
            negative_prompt=self.negative.toPlainText().strip(),
            mode=mode,
            model=self.model_id(),
            scheduler=self.scheduler.currentText(),
            steps=self.steps.value(),
            guidance_scale=self.guidance_state.value,
            true_cfg_scale=round(self.true_cfg.value(), 2),
            seed=self.seed_state.seed(),
            width=size[0] if size else None,
            height=size[1] if size else None,
            strength=round(self.strength.value(), 2),
            batch_size=self.batch.value(),
            loras=self.lora_state.chosen,
        )

    def set_request(self, request: GenerationRequest, model_hash: str = "") -> list[str]:
        """Show `request`'s parameters; returns notes on what could not be restored.

        A `model_hash` (AUTOMATIC1111's "Model hash") that a listed model has picks that
        model whatever the name it was saved under.
        """
        notes = []
        self.prompt.setPlainText(request.prompt)
        self.negative.setPlainText(request.negative_prompt)
        self.set_mode(request.mode)
        by_hash = self.model_list.by_hash(model_hash)
        if by_hash is not None and self._select_model(by_hash.id):
            if by_hash.id != request.model:
                notes.append(f"model {request.model!r} found by its hash as {by_hash.name}")
        elif not self._select_model(request.model):
            notes.append(f"model {request.model!r} is not installed; kept {self.model_id()}")
        if request.scheduler in self._usable_samplers():
            self.scheduler.setCurrentText(request.scheduler)
        else:
            notes.append(
                f"sampler {request.scheduler!r} is not available for {self.model_id()};"
                f" kept {self.scheduler.currentText()}"
            )
        self.steps.setValue(request.steps)
        self.guidance_state.restore(request.guidance_scale)
        self.true_cfg.setValue(request.true_cfg_scale)
        self.size.set_size(request.size)
        self.strength.setValue(request.strength)
        self.batch.setValue(request.batch_size)
        self.seed_state.restore(request.seed)
        self.lora_state.restore(request.loras)
        return notes

    def _apply_defaults(self) -> None:
        settings = self.settings
        self._select_model(settings.default_model)
        self.scheduler.setCurrentText(settings.default_scheduler)
        self.steps.setValue(settings.default_steps)
        self._show_guidance()
        self.strength.setValue(0.75)
        width, height = settings.default_width, settings.default_height
        self.size.set_size((width, height) if width and height else None)

    # -- models ----------------------------------------------------------------------------

    def set_models(self, models: list[ModelInfo]) -> None:
        """Fill the chooser by family (embedded models first), keeping the current choice."""
        current = self.model_id()
        self.model_list.set_models(models)
        self.model.blockSignals(True)
        self.model.clear()
        for group in self.model_list.groups:
            # A family's header: shown, never chosen (disabled, no model id).
            self.model.addItem(group.title)
            header = self.model.model().item(self.model.count() - 1)
            header.setEnabled(False)
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            for info in group.models:
                self._add_model_item(info)
        self.model.blockSignals(False)
        if not self._select_model(current):
            usable = [m for group in self.model_list.groups for m in group.models if m.usable]
            if usable:
                self._select_model(usable[0].id)
        self._update_for_model()

    def _add_model_item(self, info: ModelInfo) -> None:
        label = f"    {info.name}  (built in)" if info.embedded else f"    {info.name}"
        tip = str(info.path)
        if info.problem is not None:
            label += "  (cannot run)"
            tip += f"\n{info.problem}"
        self.model.addItem(label, info.id)
        row = self.model.count() - 1
        self.model.setItemData(row, tip, Qt.ItemDataRole.ToolTipRole)
        self.model.model().item(row).setEnabled(info.usable)

    def open_model_chooser(self) -> ModelChooser:
        """The browsable chooser, over the window; a pick switches as the combo does."""
        chooser = ModelChooser(self.model_list, self.model_id(), self)
        chooser.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        chooser.chosen.connect(self._model_picked)
        chooser.open()
        return chooser

    def show_loaded_model(self, info: ModelInfo) -> None:
        """The engine's model, chosen or kept after a failed load: the chooser shows it."""
        if info.id != self.model_id() and self._select_model(info.id):
            self.changed.emit()

    def _select_model(self, model_id: str) -> bool:
        known = self.model_list.info(model_id)
        if known is not None and not known.usable:
            return False
        index = self.model.findData(model_id)
        if index < 0 and not self.model_list.models and model_id:
            # Before the engine has listed its models, keep the id so a request still names it.
            self.model.addItem(model_id, model_id)
            index = self.model.count() - 1
        if index >= 0:
            self.model.setCurrentIndex(index)
            self._update_for_model()
        return index >= 0

    def _model_activated(self, _index: int) -> None:
        self._update_for_model()
        self.model_chosen.emit(self.model_id())
        self.changed.emit()

    def _model_picked(self, model_id: str) -> None:
        if self._select_model(model_id):
            self._model_activated(self.model.currentIndex())

    def _update_for_model(self) -> None:
        """Show the current model's native size, the samplers it can use, its guidance tip."""
        info = self.model_info()
        if info is None:
            return
        self.size.set_native(info.native_size)
        items = self.scheduler.model()
        for row in range(self.scheduler.count()):
            usable = self.scheduler.itemText(row) in info.samplers
            items.item(row).setEnabled(usable)
            items.item(row).setToolTip("" if usable else f"Does not work with {info.name}")
        if self.scheduler.currentText() not in info.samplers:
            preferred = self.settings.default_scheduler
            self.scheduler.setCurrentText(
                preferred if preferred in info.samplers else info.samplers[0]
            )
        # Controls the model's family does not use are hidden: FLUX.1 reads a negative prompt
        # only with true CFG on, schnell no guidance at all.
        true_cfg_on = info.uses_true_cfg and self.true_cfg.value() > 1
        self._negative_caption.setVisible(info.uses_negative_prompt or true_cfg_on)
        self.negative.setVisible(info.uses_negative_prompt or true_cfg_on)
        self.form.setRowVisible(self.guidance_row, info.uses_guidance)
        self.form.setRowVisible(self.true_cfg, info.uses_true_cfg)
        tip = GUIDANCE_TIP
        if info.recommended_guidance is not None:
            tip += f"\n{info.name} is at its best around {info.recommended_guidance:g}"
        self.guidance.setToolTip(tip)
        self.guidance_state.choose_model(info)

    def _usable_samplers(self) -> tuple[str, ...]:
        info = self.model_info()
        return info.samplers if info else SCHEDULER_NAMES

    def _show_guidance(self) -> None:
        state = self.guidance_state
        if round(self.guidance.value(), 2) != state.value:
            self.guidance.blockSignals(True)
            self.guidance.setValue(state.value)
            self.guidance.blockSignals(False)
        offer = state.offer
        if offer is not None and state.model is not None:
            self.guidance_hint.setText(f"Use {offer:g}")
            self.guidance_hint.setToolTip(f"{state.model.name} is at its best around {offer:g}")
        self.guidance_hint.setVisible(offer is not None)

    # -- state shown -----------------------------------------------------------------------

    def set_input_image(self, image: QImage | None) -> None:
        if image is None or image.isNull():
            self.input_thumb.clear()
            self.input_text.setText(NO_INPUT)
            return
        thumb = image.scaled(
            QSize(THUMB, THUMB),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self.input_thumb.setPixmap(QPixmap.fromImage(thumb))
        self.input_text.setText(
            f"Input image {size_text(image.width(), image.height())}. "
            "Results keep its size; “Use as input” replaces it."
        )

    def set_mask_tools(self, tools: QWidget) -> None:
        """Show inpaint's mask controls under the input image, in inpaint mode only."""
        self._mask_tools = tools
        self._layout.insertWidget(self._layout.indexOf(self.input_row) + 1, tools)
        tools.setVisible(self.mode() is Mode.INPAINT)

    def set_running(self, running: bool) -> None:
        self.generate_button.setText("Add to queue" if running else "Generate")
        self.cancel_button.setEnabled(running)

    def show_used_seed(self, seed: int) -> None:
        self.seed_state.show_used(seed)

    def focus_prompt(self) -> None:
        self.prompt.setFocus(Qt.FocusReason.OtherFocusReason)

    def _update_mode(self) -> None:
        mode = self.mode()
        uses_input = mode.uses_init_image
        self.input_row.setVisible(uses_input)
        if self._mask_tools is not None:
            self._mask_tools.setVisible(mode is Mode.INPAINT)
        self.form.setRowVisible(self.strength, uses_input)
        self.form.setRowVisible(self.size, not uses_input)  # results keep the input's size
        self.mode_changed.emit(mode)
        self.changed.emit()


def _text_box(placeholder: str, lines: int) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setPlaceholderText(placeholder)
    box.setTabChangesFocus(True)
    line = box.fontMetrics().lineSpacing()
    box.setMinimumHeight(line * lines + 12)
    # Grow into spare room, but never push the panel into scrolling: the minimum is the hint.
    box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
    return box


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("caption")
    return label


def _spin(low: int, high: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setToolTip(tip)
    return spin


def _double_spin(low: float, high: float, step: float, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setDecimals(2)
    spin.setToolTip(tip)
    return spin
