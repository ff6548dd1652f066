"""Where a model runs and in which precision, and how much memory it may take.

CPU: weights in fp32 when they fit, with bf16 autocast for full-size models on CPUs with
bf16 hardware ("auto": an SD 1.5 UNet step at 512 px took 7.1 s in fp32 and 4.0 s in bf16
autocast there, PSNR 56 dB against fp32). fp16 compute on a CPU is tens of times slower, so
fp16 files are upcast. Weights too large for fp32 are kept in bf16. CUDA: fp16 or bf16
weights (that path cannot be tested on CI machines).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import torch

from studio.core.errors import RequestError
from studio.core.settings import PRECISIONS

FULL_SIZE_PARAMETERS = 300_000_000  # below this (snail-mini, test models) autocast costs more
MEMORY_HEADROOM = 0.85  # of the available memory, for weights; the rest for activations


@dataclass(frozen=True)
class Placement:
    device: torch.device
    weights_dtype: torch.dtype
    autocast_dtype: torch.dtype | None = None
    precision: str = "auto"

    @classmethod
    def choose(cls, precision: str = "auto", device: str | None = None) -> Placement:
        if precision not in PRECISIONS:
            raise RequestError(
                f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}"
            )
        target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if target.type == "cuda":
            dtype = torch.bfloat16 if precision == "bf16" else torch.float32
            if precision in ("auto", "fp16"):
                dtype = torch.float16
            return cls(target, dtype, precision=precision)
        if precision == "fp16":
            raise RequestError("fp16 needs a CUDA GPU; on CPU use fp32 or bf16")
        autocast = torch.bfloat16 if precision == "bf16" else None
        return cls(target, torch.float32, autocast, precision)

    def for_model(self, parameters: int) -> Placement:
        """This placement fitted to a model of `parameters` weights: "auto" on a CPU with
        bf16 hardware autocasts full-size models; weights that do not fit in fp32 stay bf16."""
        if self.device.type != "cpu":
            return self
        changes: dict[str, object] = {}
        bf16 = cpu_has_bf16()
        if self.precision == "auto" and bf16 and parameters >= FULL_SIZE_PARAMETERS:
            changes["autocast_dtype"] = torch.bfloat16
        if parameters * 4 > available_memory() * MEMORY_HEADROOM and self.precision != "fp32":
            changes["weights_dtype"] = torch.bfloat16
            changes["autocast_dtype"] = torch.bfloat16 if bf16 else None
        return dataclasses.replace(self, **changes)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    @property
    def label(self) -> str:
        dtype = self.autocast_dtype or self.weights_dtype
        return f"{self.device.type} {str(dtype).removeprefix('torch.')}"


def default_ram_budget() -> int:
    """How much memory the cache of loaded models may hold by default: 60% of the machine
    (three SD 1.5 models in fp32 on a 24 GB machine)."""
    return int(total_memory() * 0.6)


def memory_budget() -> float:
    """Bytes this machine can give a model's weights."""
    return total_memory() * MEMORY_HEADROOM


def weights_memory(dense_parameters: int, quantized_bytes: int = 0) -> int:
    """Bytes the weights take as the engine keeps them: fp32 when that fits this machine,
    else bf16; a GGUF-quantized part stays quantized."""
    fp32 = dense_parameters * 4 + quantized_bytes
    return fp32 if fp32 <= memory_budget() else dense_parameters * 2 + quantized_bytes


def cpu_has_bf16() -> bool:
    """bf16 matrix hardware (AVX-512 BF16 or AMX); without it bf16 is slower than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def total_memory() -> int:
    """Bytes of memory this machine has (Linux: MemTotal)."""
    return _meminfo("MemTotal:") or os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def available_memory() -> int:
    """Bytes of memory a new model may take now (Linux: MemAvailable)."""
    return _meminfo("MemAvailable:") or os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def _meminfo(field: str) -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
