"""Captions for the world's scenes, in several phrasings.

A caption may leave out the position (the object is then anywhere) or the background, and
names the size only when it is not the default medium, or sometimes when it is.
"""

from __future__ import annotations

import random

from studio.training.world import ObjectSpec, SceneSpec

PLACES = {
    "top left": "at the top left",
    "top": "at the top",
    "top right": "at the top right",
    "left": "at the left",
    "center": "in the center",
    "right": "at the right",
    "bottom left": "at the bottom left",
    "bottom": "at the bottom",
    "bottom right": "at the bottom right",
}


def caption(spec: SceneSpec, rng: random.Random) -> str:
    """A random phrasing of `spec`; the same rng state gives the same caption."""
    if spec.scene is not None:
        return spec.scene
    say_position = rng.random() < 0.85
    say_background = rng.random() < 0.85
    terse = rng.random() < 0.35
    if terse:
        separator = ", " if len(spec.objects) == 1 else " "
        parts = [_terse_object(obj, rng, say_position, separator) for obj in spec.objects]
        if say_background:
            parts.append(f"{spec.background} background")
        return ", ".join(parts)
    text = " and ".join(_object_phrase(obj, rng, say_position) for obj in spec.objects)
    if say_background:
        phrasing = rng.choice((" on {} background", " with {} background", ", {} background"))
        background = spec.background if phrasing.startswith(",") else with_article(spec.background)
        text += phrasing.format(background)
    return text


def with_article(words: str) -> str:
    """The words with their indefinite article: "an orange star", "a red circle"."""
    return ("an " if words[0] in "aeiou" else "a ") + words


def _size_word(obj: ObjectSpec, rng: random.Random) -> str:
    if obj.size != "medium" or rng.random() < 0.2:
        return obj.size + " "
    return ""


def _object_phrase(obj: ObjectSpec, rng: random.Random, say_position: bool) -> str:
    text = with_article(f"{_size_word(obj, rng)}{obj.color} {obj.shape}")
    if say_position:
        text += " " + PLACES[obj.position]
    return text


def _terse_object(obj: ObjectSpec, rng: random.Random, say_position: bool, separator: str) -> str:
    text = f"{_size_word(obj, rng)}{obj.color} {obj.shape}"
    if say_position:
        text += separator + obj.position
    return text
