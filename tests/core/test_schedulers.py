"""Which samplers a model's training schedule allows."""

from __future__ import annotations

from studio.core.schedulers import NOT_FOR_ZERO_TERMINAL_SNR, SCHEDULER_NAMES, samplers_for


def test_a_zero_terminal_snr_schedule_leaves_out_the_samplers_that_break_on_it():
    usable = samplers_for({"rescale_betas_zero_snr": True, "prediction_type": "v_prediction"})
    assert set(usable) == set(SCHEDULER_NAMES) - NOT_FOR_ZERO_TERMINAL_SNR
    assert "PNDM" not in usable and usable[0] == "DDIM"


def test_other_schedules_offer_every_sampler():
    assert samplers_for({"rescale_betas_zero_snr": False}) == SCHEDULER_NAMES
    assert samplers_for({}) == SCHEDULER_NAMES
