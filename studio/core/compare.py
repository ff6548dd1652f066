"""What tells images apart in a side-by-side compare view."""

from __future__ import annotations

from studio.core.request import GenerationRequest, Mode

# What a person varies most often comes first; keys not named here follow in first-seen order.
KEY_ORDER: tuple[str, ...] = (
    "seed",
    "guidance_scale",
    "steps",
    "scheduler",
    "model",
    "strength",
    "size",
    "width",
    "height",
    "mode",
    "prompt",
    "loras",
    "negative_prompt",
    "mask_feather",
    "batch_size",
)

_MISSING = object()
# Settings a mode ignores: a caption listing them would suggest they made a difference.
_UNUSED: dict[Mode, tuple[str, ...]] = {
    Mode.TXT2IMG: ("strength", "mask_feather", "init_image", "mask"),
    Mode.IMG2IMG: ("mask_feather", "init_image", "mask"),
    Mode.INPAINT: ("init_image", "mask"),
}


def applicable_parameters(request: GenerationRequest) -> dict[str, object]:
    """The request's settings that its mode uses (images are described elsewhere)."""
    unused = _UNUSED[request.mode]
    params = {key: value for key, value in request.to_dict().items() if key not in unused}
    params["loras"] = " ".join(lora.tag for lora in request.loras)  # as a person writes them
    return params


def differing_parameters(params: list[dict[str, object]]) -> list[dict[str, object]]:
    """For each entry, the keys whose value is not the same in every entry, in KEY_ORDER.

    Every entry gets the same keys, so the labels line up under the images; an entry that lacks
    a key (which then differs) shows None for it. One entry, or identical ones, give `{}` each.
    """
    keys = _ordered_keys(params)
    differing = [key for key in keys if not _all_equal([p.get(key, _MISSING) for p in params])]
    return [{key: entry.get(key) for key in differing} for entry in params]


def _ordered_keys(params: list[dict[str, object]]) -> list[str]:
    seen: dict[str, None] = {}
    for entry in params:
        seen.update(dict.fromkeys(entry))
    rank = {key: index for index, key in enumerate(KEY_ORDER)}
    first_seen = {key: index for index, key in enumerate(seen)}
    return sorted(seen, key=lambda key: (rank.get(key, len(KEY_ORDER)), first_seen[key]))


def _all_equal(values: list[object]) -> bool:
    # `==` rather than sets or hashing: values may be unhashable (dicts describing images).
    first = values[0] if values else None
    return all(value == first for value in values[1:])
