"""Errors the studio reports to a person as one line.

Every error a user can cause (bad input, a broken model file) derives from `StudioError`,
so the CLI and the window can show its message alone, without a traceback.
"""

from __future__ import annotations


class StudioError(Exception):
    """An error with a message fit to show a person as it is."""


class RequestError(StudioError, ValueError):
    """A generation request that cannot run: found before any heavy work."""


class ModelError(StudioError):
    """A model that is missing, unknown, or cannot be loaded."""


class ImageError(StudioError):
    """An image or mask file that cannot be read or does not fit."""


class ServerError(StudioError):
    """A generation server (ComfyUI) that failed a job: rejected it, or failed while running it."""


class ServerUnavailableError(ServerError):
    """A server that cannot be reached, refuses, is too slow, or dropped the connection: the
    job may run elsewhere."""


class GenerationCancelled(Exception):  # noqa: N818 - a cancel is not an error
    """The caller asked to stop; nothing was produced. Not a failure."""
