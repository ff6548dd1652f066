"""torch + diffusers: the model library, loading, one runner per mode, previews, cancel.

Importing this package is cheap; the first use of `Engine` or `ModelLibrary` imports torch
(see `startup`, which keeps that import from stalling other threads). The window does it on
its worker thread only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from studio.engine.engine import Engine
    from studio.engine.library import ModelLibrary

__all__ = ["Engine", "ModelLibrary"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from studio.engine.startup import import_engine

    import_engine()
    from studio.engine.engine import Engine
    from studio.engine.library import ModelLibrary

    globals().update(Engine=Engine, ModelLibrary=ModelLibrary)
    return globals()[name]
