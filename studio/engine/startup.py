"""Importing torch and diffusers on a worker thread without freezing the other threads.

The import takes seconds, which is fine off the UI thread, but it holds the GIL in two kinds
of long stretches, during which no other thread runs Python (the window's event loop stalls
for 100-400 ms at a time):

- loading libtorch_cpu.so: CPython's import (and ctypes.CDLL) call dlopen with the GIL held,
  and the library's static initialisers register thousands of operators (~200 ms). A foreign
  call through ctypes releases the GIL, so calling libc's dlopen that way first loads the
  library while other threads run; torch's own import then finds it loaded. Those
  initialisers never call into Python, so the GIL-free dlopen cannot deadlock.
- the cyclic garbage collector: the import creates ~700k objects, and each full collection
  it triggers walks all of them (100-400 ms, longer as the heap grows). Collection is paused
  for the import, and what it created is then frozen (`gc.freeze()`, moved out of every later
  collection, the pattern the gc docs give for pre-fork servers): modules, classes and
  functions live for the whole process anyway; the few thousand cycles of import-time
  garbage stay allocated.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import importlib.util
import os
import sys
import threading
from pathlib import Path

ENGINE_MODULE = "studio.engine.engine"
_lock = threading.Lock()
_preloaded: list[int] = []  # dlopen handles, kept: the libraries stay for the process


def import_engine() -> None:
    """Import the engine module (and torch, diffusers, transformers) as described above."""
    with _lock:
        if ENGINE_MODULE in sys.modules:
            return
        preload_torch_libraries()
        collecting = gc.isenabled()
        gc.disable()
        try:
            quiet_library_output()  # first: some warnings come while the engine imports
            importlib.import_module(ENGINE_MODULE)
        finally:
            if collecting:
                gc.freeze()
                gc.enable()


def quiet_library_output() -> None:
    """The studio reports progress and errors itself (CLI bar, window): no library progress
    bars or advice on the console, for every front end alike."""
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def preload_torch_libraries() -> None:
    """dlopen torch's big native library without holding the GIL (Linux; elsewhere a no-op).

    Same libraries and flags as `import torch` uses: libtorch_global_deps globally, then
    libtorch_cpu locally (as a dependency of torch._C). Any failure is left to `import torch`
    to report.
    """
    if not sys.platform.startswith("linux") or "torch" in sys.modules:
        return
    spec = importlib.util.find_spec("torch")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    try:
        dlopen = ctypes.CDLL(None).dlopen  # a CDLL foreign call releases the GIL
    except (OSError, AttributeError):
        return
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    for name, scope in (("libtorch_global_deps.so", os.RTLD_GLOBAL), ("libtorch_cpu.so", 0)):
        path = lib / name
        if path.is_file():
            handle = dlopen(os.fsencode(path), os.RTLD_NOW | scope)
            if handle:
                _preloaded.append(handle)
