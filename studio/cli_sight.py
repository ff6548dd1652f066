"""The command line's ways to see the diffusion: `generate --timeline FILE`.

Kept apart from `cli.py`: `add_generate_flags` adds the flags, `observers_for` turns them into
the engine's step observers, and `write_observed` writes what they saw after the run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

TIMELINE_SUFFIXES = (".gif", ".webp")


def add_generate_flags(generate: argparse.ArgumentParser) -> None:
    generate.add_argument(
        "--timeline",
        type=Path,
        metavar="FILE",
        help="also write an animated .gif or .webp of the clean-image estimate, one frame a step",
    )


def check_generate_flags(options: argparse.Namespace) -> None:
    """Refuse bad flags before the slow engine import."""
    from studio.core.errors import RequestError

    timeline = options.timeline
    if timeline is not None and timeline.suffix.lower() not in TIMELINE_SUFFIXES:
        raise RequestError(f"--timeline must end in {' or '.join(TIMELINE_SUFFIXES)}: {timeline}")


def observers_for(options: argparse.Namespace) -> list[Any]:
    observers: list[Any] = []
    if options.timeline is not None:
        from studio.engine.timeline import Timeline

        observers.append(Timeline())
    return observers


def write_observed(options: argparse.Namespace, observers: list[Any]) -> None:
    """Write each observer's files and print their paths, like the images'."""
    from studio.engine.timeline import Timeline

    for observer in observers:
        if isinstance(observer, Timeline):
            print(observer.export(options.timeline))
            print(f"timeline: {len(observer.steps)} frames", file=sys.stderr)
