"""LoRAs in requests and image metadata, the webui's way (`<lora:...>` tags, `Lora hashes`)."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest
from PIL import Image

from studio.core.compare import applicable_parameters, differing_parameters
from studio.core.errors import RequestError
from studio.core.loras import (
    LoraRef,
    format_lora_hashes,
    merged_loras,
    parse_lora_hashes,
    prompt_with_loras,
    safetensors_hash,
    split_prompt_loras,
)
from studio.core.metadata import (
    format_parameters,
    parse_parameters,
    read_png_request,
    request_from_parameters,
    save_png,
)
from studio.core.request import GenerationRequest


def test_prompt_tags_are_read_and_removed_from_the_encoder_prompt():
    text, refs = split_prompt_loras("a cat <lora:ink:0.8>, watercolor <lora:paper>")
    assert text == "a cat , watercolor"
    assert refs == (LoraRef("ink", 0.8), LoraRef("paper", 1.0))


def test_extra_tag_fields_and_bad_weights_are_read_past():
    text, refs = split_prompt_loras("<lora:a:0.5:0.2> x <lora:b:oops>")
    assert text == "x"
    assert refs == (LoraRef("a", 0.5), LoraRef("b", 1.0))


def test_prompt_tags_merge_with_the_panel_and_win_on_the_same_name():
    panel = (LoraRef("ink", 0.3), LoraRef("paper", 0.7))
    merged = merged_loras("cat <lora:ink:0.9> <lora:film:0.4>", panel)
    assert merged == (LoraRef("ink", 0.9), LoraRef("paper", 0.7), LoraRef("film", 0.4))


def test_request_applies_merged_loras_and_encodes_the_clean_prompt():
    request = GenerationRequest("cat <lora:ink:0.5>", loras=(LoraRef("paper", 1.0),))
    assert request.encoder_prompt == "cat"
    assert request.applied_loras == (LoraRef("paper", 1.0), LoraRef("ink", 0.5))


def test_request_round_trips_its_loras_through_to_dict():
    request = GenerationRequest("cat", loras=(LoraRef("ink", 0.25), LoraRef("paper", -1.0)))
    data = json.loads(json.dumps(request.to_dict()))
    assert data["loras"] == [{"name": "ink", "weight": 0.25}, {"name": "paper", "weight": -1.0}]
    assert GenerationRequest.from_dict(data) == request


@pytest.mark.parametrize("bad", [[{"weight": 1}], [{"name": "x", "weight": "a"}], "ink"])
def test_malformed_loras_in_data_are_a_request_error(bad):
    with pytest.raises(RequestError):
        GenerationRequest.from_dict({"prompt": "cat", "loras": bad})


def test_weight_out_of_range_is_refused():
    with pytest.raises(RequestError, match="LoRA 'ink' weight"):
        GenerationRequest("cat <lora:ink:50>").validate()


def test_panel_loras_are_written_as_tags_unless_the_prompt_has_them():
    panel = (LoraRef("ink", 0.5), LoraRef("paper", 1.0))
    assert prompt_with_loras("cat <lora:ink:0.9>", panel) == "cat <lora:ink:0.9><lora:paper:1>"


def test_lora_hashes_format_like_the_webui_and_parse_back():
    text = format_lora_hashes({"ink": "0123456789ab", "a:b,c": "ffffffffffff"})
    assert text == "ink: 0123456789ab, abc: ffffffffffff"
    assert parse_lora_hashes(text) == {"ink": "0123456789ab", "abc": "ffffffffffff"}


def test_parameters_carry_tags_and_lora_hashes_and_parse_back():
    request = GenerationRequest("cat", seed=1, width=64, height=64, loras=(LoraRef("ink", 0.5),))
    text = format_parameters(request, 1, "tiny", lora_hashes={"ink": "0123456789ab"})
    first, *_, last = text.split("\n")
    assert first == "cat<lora:ink:0.5>"
    assert 'Lora hashes: "ink: 0123456789ab"' in last
    prompt, _, settings = parse_parameters(text)
    assert prompt == "cat<lora:ink:0.5>"
    assert parse_lora_hashes(settings["Lora hashes"]) == {"ink": "0123456789ab"}
    restored = request_from_parameters(text)
    assert restored.applied_loras == (LoraRef("ink", 0.5),)
    assert restored.encoder_prompt == "cat"


def test_png_keeps_panel_loras_exactly(tmp_path):
    request = GenerationRequest("cat", seed=3, loras=(LoraRef("ink", 0.125),))
    path = save_png(Image.new("RGB", (8, 8)), tmp_path / "a.png", request, 3, "tiny")
    assert read_png_request(path).loras == (LoraRef("ink", 0.125),)


def test_safetensors_hash_is_sha256_after_the_header(tmp_path: Path):
    header = json.dumps({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    data = struct.pack("<2f", 1.0, 2.0)
    path = tmp_path / "l.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)
    assert safetensors_hash(path) == hashlib.sha256(data).hexdigest()[:12]


def test_compare_names_differing_loras_as_tags():
    one = GenerationRequest("cat", seed=1, loras=(LoraRef("ink", 0.5),))
    two = GenerationRequest("cat", seed=1, loras=(LoraRef("ink", 0.5), LoraRef("paper", 1.0)))
    params = [applicable_parameters(one), applicable_parameters(two)]
    assert differing_parameters(params) == [
        {"loras": "<lora:ink:0.5>"},
        {"loras": "<lora:ink:0.5> <lora:paper:1>"},
    ]
