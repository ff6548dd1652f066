"""torch + diffusers: the model library, loading, one runner per mode, previews, cancel.

Importing this package imports torch; the window does it on its worker thread only.
"""

from studio.engine.engine import Engine
from studio.engine.library import ModelLibrary

__all__ = ["Engine", "ModelLibrary"]
