"""snail-mini's procedural world: scenes words can describe, rendered deterministically by seed.

The world is fixed (the evaluation relies on it): eight palette colours, four shapes, three
sizes, nine positions, flat backgrounds, two-object captions and three named scenes.
"""

from __future__ import annotations

import itertools
import math
import random
import zlib
from dataclasses import dataclass

from PIL import Image, ImageDraw

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (240, 220, 40),
    "green": (50, 170, 60),
    "blue": (40, 80, 220),
    "purple": (140, 60, 190),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
}
SHAPES = ("circle", "square", "triangle", "star")
SIZES: dict[str, float] = {"small": 1 / 6, "medium": 1 / 3, "large": 1 / 2}
# Object centres as fractions of the image (x, y); the analyzer reads positions on a 3x3 grid.
POSITIONS: dict[str, tuple[float, float]] = {
    "top left": (0.2, 0.2),
    "top": (0.5, 0.2),
    "top right": (0.8, 0.2),
    "left": (0.2, 0.5),
    "center": (0.5, 0.5),
    "right": (0.8, 0.5),
    "bottom left": (0.2, 0.8),
    "bottom": (0.5, 0.8),
    "bottom right": (0.8, 0.8),
}
SCENES = ("a sunset over mountains", "a night sky with stars", "a lake at dawn")
# Never rendered in training: the evaluation asks whether the model composes words seen apart.
HELD_OUT_PAIRS = frozenset(
    {("purple", "star"), ("green", "triangle"), ("orange", "square"), ("white", "circle")}
)
SUPERSAMPLE = 4


@dataclass(frozen=True)
class ObjectSpec:
    color: str
    shape: str
    size: str
    position: str


@dataclass(frozen=True)
class SceneSpec:
    """One picture: objects on a flat background, or a named scene. `seed` drives the details."""

    objects: tuple[ObjectSpec, ...] = ()
    background: str = "black"
    scene: str | None = None
    seed: int = 0


def is_evaluation_combo(color: str, shape: str, position: str, background: str) -> bool:
    """One in eight single-object combinations is kept out of training for the evaluation,
    so its prompts are never seen verbatim."""
    key = f"{color}|{shape}|{position}|{background}".encode()
    return zlib.crc32(key) % 8 == 0


def sample_scene(rng: random.Random, seed: int) -> SceneSpec:
    """A random training scene: never a held-out pair, never an evaluation combination."""
    kind = rng.random()
    if kind < 0.12:
        return SceneSpec(scene=rng.choice(SCENES), seed=seed)
    count = 2 if kind < 0.35 else 1
    while True:
        objects = _sample_objects(rng, count)
        colors = {o.color for o in objects}
        background = rng.choice([c for c in PALETTE if c not in colors])
        if count == 1 and is_evaluation_combo(
            objects[0].color, objects[0].shape, objects[0].position, background
        ):
            continue
        return SceneSpec(objects=objects, background=background, seed=seed)


def _sample_objects(rng: random.Random, count: int) -> tuple[ObjectSpec, ...]:
    if count == 1:
        positions = [rng.choice(list(POSITIONS))]
        sizes = [rng.choices(list(SIZES), weights=(1, 2, 1))[0]]
    else:
        # Two objects sit on opposite sides so they never overlap.
        first, second = rng.choice(
            [
                ("left", "right"),
                ("top", "bottom"),
                ("top left", "bottom right"),
                ("top right", "bottom left"),
            ]
        )
        positions = [first, second] if rng.random() < 0.5 else [second, first]
        sizes = [rng.choice(("small", "medium")) for _ in range(2)]
    objects = []
    for position, size in zip(positions, sizes, strict=True):
        while True:
            color, shape = rng.choice(list(PALETTE)), rng.choice(SHAPES)
            if (color, shape) not in HELD_OUT_PAIRS:
                break
        objects.append(ObjectSpec(color, shape, size, position))
    return tuple(objects)


def render(spec: SceneSpec, size: int = 64) -> Image.Image:
    """Draw the scene at `size` x `size` pixels (antialiased by supersampling)."""
    big = size * SUPERSAMPLE
    rng = random.Random(spec.seed)
    if spec.scene is not None:
        image = _SCENE_PAINTERS[spec.scene](big, rng)
    else:
        image = Image.new("RGB", (big, big), PALETTE[spec.background])
        draw = ImageDraw.Draw(image)
        for obj in spec.objects:
            _draw_object(draw, obj, big, rng)
    return image.resize((size, size), Image.Resampling.BOX)


def _draw_object(draw: ImageDraw.ImageDraw, obj: ObjectSpec, big: int, rng: random.Random) -> None:
    side = SIZES[obj.size] * big * rng.uniform(0.9, 1.1)
    half = side / 2
    fx, fy = POSITIONS[obj.position]
    cx = min(max(fx * big + rng.uniform(-0.04, 0.04) * big, half + 1), big - half - 1)
    cy = min(max(fy * big + rng.uniform(-0.04, 0.04) * big, half + 1), big - half - 1)
    color = PALETTE[obj.color]
    box = (cx - half, cy - half, cx + half, cy + half)
    if obj.shape == "circle":
        draw.ellipse(box, fill=color)
    elif obj.shape == "square":
        draw.rectangle(box, fill=color)
    elif obj.shape == "triangle":
        draw.polygon([(cx, cy - half), (cx + half, cy + half), (cx - half, cy + half)], fill=color)
    else:
        draw.polygon(_star_points(cx, cy, half), fill=color)


def _star_points(cx: float, cy: float, radius: float) -> list[tuple[float, float]]:
    """A five-pointed star, point up, scaled so it fills its box's height."""
    inner = radius * 0.45
    scale = 2 / (1 + math.cos(math.pi / 5))
    top = cy - radius + radius * scale  # centre so the star spans the box vertically
    points = []
    for i in range(10):
        r = radius * scale if i % 2 == 0 else inner * scale
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + r * math.cos(angle), top + r * math.sin(angle)))
    return points


def _vertical_gradient(big: int, stops: list[tuple[float, tuple[int, int, int]]]) -> Image.Image:
    column = Image.new("RGB", (1, big))
    for y in range(big):
        t = y / (big - 1)
        for (t0, c0), (t1, c1) in itertools.pairwise(stops):
            if t0 <= t <= t1:
                k = (t - t0) / (t1 - t0)
                column.putpixel(
                    (0, y), tuple(round(a + (b - a) * k) for a, b in zip(c0, c1, strict=True))
                )
                break
    return column.resize((big, big))


def _mountain_ridge(
    big: int, rng: random.Random, base: float, height: float
) -> list[tuple[float, float]]:
    points = [(0.0, float(big))]
    x = 0.0
    while x < big:
        points.append((x, big * (base - rng.uniform(0.3, 1.0) * height)))
        x += big * rng.uniform(0.12, 0.25)
    points += [
        (float(big), big * (base - rng.uniform(0.3, 1.0) * height)),
        (float(big), float(big)),
    ]
    return points


def _paint_sunset(big: int, rng: random.Random) -> Image.Image:
    image = _vertical_gradient(
        big, [(0.0, (250, 120, 40)), (0.45, (245, 150, 70)), (1.0, (235, 110, 150))]
    )
    draw = ImageDraw.Draw(image)
    r = big * rng.uniform(0.09, 0.13)
    cx, cy = big * rng.uniform(0.3, 0.7), big * rng.uniform(0.35, 0.5)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 220, 90))
    draw.polygon(_mountain_ridge(big, rng, 0.72, 0.22), fill=(70, 40, 60))
    draw.polygon(_mountain_ridge(big, rng, 0.9, 0.15), fill=(35, 20, 35))
    return image


def _paint_night(big: int, rng: random.Random) -> Image.Image:
    image = _vertical_gradient(big, [(0.0, (8, 10, 35)), (1.0, (25, 30, 70))])
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(18, 30)):
        x, y = rng.uniform(0, big), rng.uniform(0, big * 0.85)
        r = big * rng.uniform(0.006, 0.014)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(250, 250, 230))
    if rng.random() < 0.5:
        r = big * 0.07
        x, y = big * rng.uniform(0.15, 0.85), big * rng.uniform(0.1, 0.3)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(240, 240, 210))
    return image


def _paint_lake(big: int, rng: random.Random) -> Image.Image:
    horizon = rng.uniform(0.5, 0.6)
    image = _vertical_gradient(
        big, [(0.0, (150, 160, 205)), (horizon, (250, 200, 170)), (1.0, (250, 200, 170))]
    )
    draw = ImageDraw.Draw(image)
    r = big * rng.uniform(0.07, 0.1)
    cx = big * rng.uniform(0.3, 0.7)
    draw.ellipse((cx - r, big * horizon - r, cx + r, big * horizon + r), fill=(255, 235, 180))
    draw.polygon(_mountain_ridge(big, rng, horizon, 0.08), fill=(80, 80, 110))
    water = _vertical_gradient(big, [(0.0, (120, 140, 185)), (1.0, (50, 70, 120))])
    top = round(big * horizon)
    image.paste(water.crop((0, 0, big, big - top)), (0, top))
    for _ in range(6):
        y = rng.uniform(horizon + 0.03, 0.97) * big
        x = rng.uniform(0.1, 0.7) * big
        draw.line(
            (x, y, x + big * rng.uniform(0.1, 0.25), y),
            fill=(200, 190, 200),
            width=max(1, big // 64),
        )
    return image


_SCENE_PAINTERS = {
    "a sunset over mountains": _paint_sunset,
    "a night sky with stars": _paint_night,
    "a lake at dawn": _paint_lake,
}
