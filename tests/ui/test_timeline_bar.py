"""The scrub bar: steps arrive, the slider follows, scrubbing shows x0 or x_t."""

from __future__ import annotations

from PySide6.QtGui import QColor, QImage

from studio.ui.timeline_bar import CLEAN, NOISY, TimelineBar


def solid(value: int) -> QImage:
    image = QImage(8, 8, QImage.Format.Format_RGB888)
    image.fill(QColor(value, value, value))
    return image


def fill(bar: TimelineBar, steps: int = 4, job_id: int = 1) -> None:
    bar.run_started(job_id)
    for step in range(1, steps + 1):
        bar.add_step(step, steps, solid(step * 10), solid(step * 10 + 1))


def test_the_slider_follows_the_newest_step(qtbot):
    bar = TimelineBar()
    qtbot.addWidget(bar)
    shown = []
    bar.frame_chosen.connect(shown.append)
    fill(bar)
    assert bar.steps() == [1, 2, 3, 4] and bar.step() == 4
    assert shown == []  # the window shows live steps itself
    assert bar.live_frame().pixelColor(0, 0).red() == 40
    assert "Step 4/4" in bar.label.text()


def test_scrubbing_shows_x0_or_xt_and_the_end_returns_to_the_result(qtbot):
    bar = TimelineBar()
    qtbot.addWidget(bar)
    fill(bar)
    bar.run_ended(1, kept=True)
    shown, results = [], []
    bar.frame_chosen.connect(lambda image: shown.append(image.pixelColor(0, 0).red()))
    bar.result_chosen.connect(lambda: results.append(True))
    bar.slider.setValue(2)
    bar.noisy.setChecked(True)
    assert shown == [20, 21] and bar.kind() == NOISY
    bar.slider.setValue(4)
    assert shown[-1] == 41  # the last x_t, not the result
    bar.noisy.setChecked(False)
    assert results == [True]
    assert bar.live_frame().pixelColor(0, 0).red() == 40


def test_scrubbing_back_during_a_run_stops_following(qtbot):
    bar = TimelineBar()
    qtbot.addWidget(bar)
    fill(bar, 3)
    bar.slider.setValue(1)
    bar.add_step(4, 6, solid(1), solid(2))
    assert bar.step() == 1 and bar.slider.maximum() == 4


def test_decode_and_export_wait_for_a_kept_run(qtbot):
    bar = TimelineBar()
    qtbot.addWidget(bar)
    fill(bar)
    assert not bar.full.isEnabled() and not bar.export.isEnabled()
    bar.run_ended(1, kept=False)
    assert not bar.full.isEnabled()
    bar.run_ended(1, kept=True)
    asked, exported = [], []
    bar.decode_requested.connect(lambda run, step, kind: asked.append((run, step, kind)))
    bar.export_requested.connect(lambda run, kind: exported.append((run, kind)))
    bar.slider.setValue(3)
    bar.full.click()
    bar.noisy.setChecked(True)
    bar.export.click()
    assert asked == [(1, 3, CLEAN)] and exported == [(1, NOISY)]


def test_attention_words_are_buttons_that_show_their_maps(qtbot):
    bar = TimelineBar()
    qtbot.addWidget(bar)
    toggles, shown = [], []
    bar.attention_toggled.connect(toggles.append)
    bar.frame_chosen.connect(lambda image: shown.append(image.pixelColor(0, 0).red()))
    bar.attention.setChecked(True)
    bar.set_words([("red", solid(100)), ("circle", solid(200))])
    assert toggles == [True] and bar.word_names() == ["red", "circle"]
    buttons = [
        bar.words_row.itemAt(i).widget()
        for i in range(bar.words_row.count())
        if bar.words_row.itemAt(i).widget() is not None
    ]
    next(b for b in buttons if b.text() == "circle").click()
    assert shown == [200]
    bar.run_started(2)
    assert bar.word_names() == []


def test_scrubbing_after_a_run_asks_for_that_steps_attention(qtbot):
    bar = TimelineBar()
    qtbot.addWidget(bar)
    asked = []
    bar.attention_step_requested.connect(asked.append)
    fill(bar)
    bar.slider.setValue(2)
    assert asked == []  # no attention recorded
    bar.run_ended(1, kept=True)
    bar.set_words([("circle", solid(200))])
    assert bar.words_row.itemAt(0).widget().text() == "Attention, all steps:"
    bar.slider.setValue(3)
    bar.slider.setValue(4)
    assert asked == [3, 0]  # the last step shows the maps of all steps
    bar.set_words([("circle", solid(100))], step=3)
    assert bar.words_row.itemAt(0).widget().text() == "Attention, step 3:"


def test_an_earlier_run_is_scrubbed_while_the_worker_keeps_it(qtbot):
    bar = TimelineBar()
    qtbot.addWidget(bar)
    asked = []
    bar.decode_requested.connect(lambda run, step, kind: asked.append((run, step)))
    fill(bar, steps=4, job_id=1)
    bar.run_ended(1, kept=True)
    fill(bar, steps=2, job_id=2)
    bar.run_ended(2, kept=True)
    assert bar.shown_run() == 2 and bar.steps() == [1, 2]

    bar.show_run(1)
    assert bar.steps() == [1, 2, 3, 4] and bar.step() == 4 and bar.full.isEnabled()
    bar.slider.setValue(3)
    assert bar.frame(3).pixelColor(0, 0).red() == 30
    bar.full.click()
    assert asked == [(1, 3)]

    bar.keep_only([2])  # the worker let run 1 go: its previews stay, decoding does not
    assert bar.steps() == [1, 2, 3, 4] and not bar.full.isEnabled()
    bar.show_run(2)
    bar.show_run(1)
    assert "No steps kept" in bar.label.text() and not bar.slider.isEnabled()


def test_a_failed_run_is_not_kept(qtbot):
    bar = TimelineBar()
    qtbot.addWidget(bar)
    fill(bar, steps=2, job_id=1)
    bar.run_ended(1, kept=True)
    fill(bar, steps=1, job_id=2)
    bar.run_ended(2, kept=False)
    assert not bar.full.isEnabled() and bar.steps() == [1]  # still on the screen
    bar.show_run(1)
    bar.show_run(2)
    assert "No steps kept" in bar.label.text()
