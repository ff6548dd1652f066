"""The cache of loaded models: switching back is free, the least recently used goes first,
a model in use stays, and a failed load brings back what it pushed out."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from studio.core.errors import ModelError
from studio.engine import pipelines
from studio.engine.devices import Placement
from studio.engine.library import ModelLibrary
from studio.engine.pipelines import ModelCache


@pytest.fixture
def three(tiny_model_dir, tmp_path):
    for name in ("a", "b", "c"):
        shutil.copytree(tiny_model_dir / "tiny", tmp_path / name)
    models = {m.id: m for m in ModelLibrary([tmp_path], tmp_path / "none").models()}
    return {name: dataclasses.replace(models[name], memory_bytes=100) for name in "abc"}


@pytest.fixture
def loads(monkeypatch):
    counted = []
    real = pipelines.load_pipeline
    monkeypatch.setattr(
        pipelines, "load_pipeline", lambda info, p: counted.append(info.id) or real(info, p)
    )
    return counted


def test_switching_back_to_a_cached_model_loads_nothing(three, loads):
    cache = ModelCache(Placement.choose("fp32", "cpu"), budget_bytes=300)
    for name in "abcabc":
        assert cache.get(three[name]).info.id == name
    assert loads == ["a", "b", "c"]
    assert cache.find("b").info.id == "b" and cache.current.info.id == "c"


def test_the_least_recently_used_model_leaves_first(three, loads):
    cache = ModelCache(Placement.choose("fp32", "cpu"), budget_bytes=200)
    cache.get(three["a"])
    cache.get(three["b"])
    cache.get(three["a"])  # b is now the least recently used
    cache.get(three["c"])
    assert [m.id for m in cache.resident] == ["a", "c"]


def test_a_model_in_use_is_never_evicted(three):
    cache = ModelCache(Placement.choose("fp32", "cpu"), budget_bytes=100)
    with cache.get(three["a"]).in_use():
        cache.get(three["b"])
        assert [m.id for m in cache.resident] == ["a", "b"]
    cache.get(three["c"])
    assert [m.id for m in cache.resident] == ["c"]


def test_a_failed_load_brings_back_the_model_it_pushed_out(three, tmp_path):
    cache = ModelCache(Placement.choose("fp32", "cpu"), budget_bytes=100)
    cache.get(three["a"])
    broken = three["b"]
    (broken.path / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"\0" * 64)
    with pytest.raises(ModelError, match="cannot load model 'b'"):
        cache.get(broken)
    assert cache.current.info.id == "a" and [m.id for m in cache.resident] == ["a"]
