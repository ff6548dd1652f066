"""Precision per model: what "auto" picks on a CPU, and weights that do not fit in fp32."""

from __future__ import annotations

import pytest
import torch

from studio.engine import devices
from studio.engine.devices import Placement

GB = 1_000_000_000


@pytest.fixture
def cpu(monkeypatch):
    def make(bf16: bool, available: int):
        monkeypatch.setattr(devices, "cpu_has_bf16", lambda: bf16)
        monkeypatch.setattr(devices, "available_memory", lambda: available)
        monkeypatch.setattr(devices, "total_memory", lambda: available)

    return make


def test_auto_autocasts_full_size_models_to_bf16_on_bf16_hardware(cpu):
    cpu(bf16=True, available=20 * GB)
    auto = Placement.choose("auto", "cpu")
    assert auto.for_model(1_000_000_000).autocast_dtype is torch.bfloat16
    assert auto.for_model(1_000_000_000).weights_dtype is torch.float32
    assert auto.for_model(3_000_000).autocast_dtype is None  # small models stay fp32


def test_auto_stays_fp32_without_bf16_hardware(cpu):
    cpu(bf16=False, available=20 * GB)
    placement = Placement.choose("auto", "cpu").for_model(1_000_000_000)
    assert (placement.weights_dtype, placement.autocast_dtype) == (torch.float32, None)


def test_weights_too_big_for_fp32_are_kept_in_bf16(cpu):
    cpu(bf16=True, available=20 * GB)
    big = Placement.choose("auto", "cpu").for_model(8_000_000_000)  # 32 GB in fp32
    assert big.weights_dtype is torch.bfloat16
    assert Placement.choose("fp32", "cpu").for_model(8_000_000_000).weights_dtype is torch.float32


def test_memory_estimate_is_fp32_when_it_fits_else_bf16(cpu):
    cpu(bf16=True, available=20 * GB)
    assert devices.weights_memory(1_000_000_000) == 4 * GB
    assert devices.weights_memory(8_000_000_000) == 16 * GB
    assert devices.weights_memory(1_000_000_000, quantized_bytes=GB) == 5 * GB
