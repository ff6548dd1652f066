"""The model list as a person browses it: grouped by family, filtered by typing, matched by hash,
and the last image made with each model."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from studio.core.history import HistoryEntry
from studio.core.models import ModelInfo


@dataclass(frozen=True)
class ModelGroup:
    """The models of one family, usable ones first, each part by name."""

    title: str
    models: tuple[ModelInfo, ...]


NOT_USABLE = "Not usable"


def group_models(models: Iterable[ModelInfo]) -> list[ModelGroup]:
    """Groups by family: the embedded model's first, then by title, files that are no model
    of any family last."""
    families: dict[str, list[ModelInfo]] = {}
    for info in models:
        families.setdefault(info.family, []).append(info)
    groups = [
        (
            any(m.embedded for m in members),
            ModelGroup(
                group_title(members),
                tuple(sorted(members, key=lambda m: (not m.usable, m.name.lower()))),
            ),
        )
        for members in families.values()
    ]
    groups.sort(key=lambda p: (not p[0], p[1].title == NOT_USABLE, p[1].title.lower()))
    return [group for _embedded, group in groups]


def group_title(members: list[ModelInfo]) -> str:
    """What the family's models' labels share ("SD3.5" of "SD3.5 medium" and "SD3.5 large"),
    else the shortest label; files no adapter recognised (no label, none can run) are "Not
    usable". The family adapters name their variants, so no family is named here."""
    labels = [m.family_label for m in members if m.family_label]
    if not labels:
        return members[0].family if any(m.usable for m in members) else NOT_USABLE
    words = labels[0].split()
    for label in labels[1:]:
        other = label.split()
        shared = 0
        while shared < min(len(words), len(other)) and words[shared] == other[shared]:
            shared += 1
        words = words[:shared]
    return " ".join(words) if words else min(labels, key=len)


def matches(info: ModelInfo, text: str) -> bool:
    """Every word typed is in the model's name, family, file path or notes (any case)."""
    haystack = " ".join(
        (info.name, info.family_label, info.family, str(info.path), *info.notes)
    ).lower()
    return all(word in haystack for word in text.lower().split())


def filter_groups(groups: list[ModelGroup], text: str) -> list[ModelGroup]:
    """The groups with only the models that match `text`; empty groups left out."""
    kept = [ModelGroup(g.title, tuple(m for m in g.models if matches(m, text))) for g in groups]
    return [group for group in kept if group.models]


def find_by_hash(models: Iterable[ModelInfo], short_hash: str) -> ModelInfo | None:
    """The listed model whose AUTOMATIC1111 "Model hash" is `short_hash` (any case)."""
    wanted = short_hash.strip().lower()
    if not wanted:
        return None
    return next((m for m in models if m.short_hash and m.short_hash.lower() == wanted), None)


def last_images(models: Iterable[ModelInfo], entries: Iterable[HistoryEntry]) -> dict[str, Path]:
    """Model id -> the newest image made with it, from history entries given newest first.

    An entry names its model by the id it was asked for (or a path) and the name it was
    saved under; either finds the model.
    """
    keys: dict[str, str] = {}
    for info in models:
        for key in (info.id, str(info.path), info.name):
            keys.setdefault(key, info.id)
    found: dict[str, Path] = {}
    for entry in entries:
        model_id = keys.get(entry.request.model) or keys.get(entry.model)
        if model_id is not None and model_id not in found:
            found[model_id] = entry.path
    return found
