"""The UI-format graph made from an API workflow, checked against the frontend's schema."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from studio.core.request import GenerationRequest, Mode
from studio.remote.catalog import ServerCatalog
from studio.remote.connection import Connection
from studio.remote.server import ServerConfig
from studio.remote.ui_workflow import NodeDefinitionCache, ui_workflow
from studio.remote.workflows import build_workflow
from tests.remote.comfy_nodes import definitions

DEFINITIONS = definitions(
    ["sd15.safetensors"],
    ["flux1-dev.safetensors", "sd3.5_large.safetensors"],
    ["clip_l.safetensors", "clip_g.safetensors", "t5xxl_fp16.safetensors"],
    ["ae.safetensors", "sd3_vae.safetensors"],
    [],
    ["in.png", "mask.png"],
)
CATALOG = ServerCatalog(
    {
        "checkpoints": ("sd15.safetensors",),
        "diffusion_models": ("flux1-dev.safetensors", "sd3.5_large.safetensors"),
        "text_encoders": ("clip_l.safetensors", "clip_g.safetensors", "t5xxl_fp16.safetensors"),
        "vae": ("ae.safetensors", "sd3_vae.safetensors"),
    }
)
BASE = GenerationRequest(prompt="a snail", scheduler="Euler", seed=7, steps=5, width=64, height=64)
INPAINT = replace(BASE, mode=Mode.INPAINT, mask_feather=6, strength=0.8)
CASES = {
    "checkpoint txt2img": (BASE, CATALOG.source("sd15.safetensors")),
    "checkpoint inpaint": (INPAINT, CATALOG.source("sd15.safetensors")),
    "flux img2img": (replace(BASE, mode=Mode.IMG2IMG), CATALOG.source("flux1-dev.safetensors")),
    "sd3.5 txt2img": (BASE, CATALOG.source("sd3.5_large.safetensors")),
}


def _api(case: str) -> dict:
    request, model = CASES[case]
    return build_workflow(request, model, "in.png", "mask.png")


def _check_schema(graph: dict) -> None:
    """The fields the frontend's zod schema (zComfyWorkflow, version 0.4) requires."""
    assert graph["version"] == 0.4 and graph["groups"] == [] and graph["config"] == {}
    assert graph["extra"]["ds"]["scale"] == 1.0
    for node in graph["nodes"]:
        assert isinstance(node["id"], int) and isinstance(node["type"], str)
        assert all(isinstance(v, int) for v in (*node["pos"], *node["size"]))
        assert node["flags"] == {} and node["mode"] == 0 and isinstance(node["order"], int)
        assert node["properties"] == {"Node name for S&R": node["type"]}
        assert isinstance(node["widgets_values"], list)
        for slot in node["inputs"]:
            assert set(slot) == {"name", "type", "link"}
        for index, output in enumerate(node["outputs"]):
            assert output["slot_index"] == index and output["type"]
            assert output["links"] is None or len(output["links"]) > 0
    for link in graph["links"]:
        assert len(link) == 6 and isinstance(link[5], str)
    assert graph["last_link_id"] == len(graph["links"])
    assert graph["last_node_id"] == max(node["id"] for node in graph["nodes"])
    json.dumps(graph)


@pytest.mark.parametrize("case", CASES)
def test_every_api_link_is_a_ui_link_with_its_slots_and_type(case):
    api = _api(case)
    graph = ui_workflow(api, DEFINITIONS)
    _check_schema(graph)
    nodes = {node["id"]: node for node in graph["nodes"]}
    assert {str(i): n["type"] for i, n in nodes.items()} == {
        i: n["class_type"] for i, n in api.items()
    }
    links = {link[0]: link for link in graph["links"]}
    api_links = 0
    for node_id, node in api.items():
        for name, value in node["inputs"].items():
            if not isinstance(value, list):
                continue
            api_links += 1
            slots = nodes[int(node_id)]["inputs"]
            slot = next(i for i, s in enumerate(slots) if s["name"] == name)
            link = links[slots[slot]["link"]]
            source = api[value[0]]["class_type"]
            link_type = DEFINITIONS[source]["output"][value[1]]
            assert link == [link[0], int(value[0]), value[1], int(node_id), slot, link_type]
            assert slots[slot]["type"] == link_type
            assert link[0] in nodes[int(value[0])]["outputs"][value[1]]["links"]
    assert api_links == len(graph["links"]) > 0


@pytest.mark.parametrize("case", CASES)
def test_the_graph_reads_left_to_right_without_overlaps(case):
    graph = ui_workflow(_api(case), DEFINITIONS)
    nodes = {node["id"]: node for node in graph["nodes"]}
    for _, source, _, target, _, _ in graph["links"]:
        assert nodes[source]["pos"][0] < nodes[target]["pos"][0]
        assert nodes[source]["order"] < nodes[target]["order"]
    boxes = [(*n["pos"], *n["size"]) for n in graph["nodes"]]
    for i, (x, y, w, h) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1 :]:
            assert x + w <= x2 or x2 + w2 <= x or y + h <= y2 or y2 + h2 <= y


def test_widget_values_follow_each_nodes_input_order():
    request = replace(INPAINT, guidance_scale=3.0, negative_prompt="blur")
    api = build_workflow(request, CATALOG.source("flux1-dev.safetensors"), "in.png", "mask.png")
    nodes = {node["type"]: node for node in ui_workflow(api, DEFINITIONS)["nodes"]}
    # the seed, then the frontend's control_after_generate; denoise after the links
    assert nodes["KSampler"]["widgets_values"] == [7, "fixed", 5, 1.0, "euler", "simple", 0.8]
    assert [s["name"] for s in nodes["KSampler"]["inputs"]] == [
        "model",
        "positive",
        "negative",
        "latent_image",
    ]
    # the optional device after the required widgets
    assert nodes["DualCLIPLoader"]["widgets_values"] == [
        "clip_l.safetensors",
        "t5xxl_fp16.safetensors",
        "flux",
        "default",
    ]
    assert nodes["UNETLoader"]["widgets_values"] == ["flux1-dev.safetensors", "default"]
    assert nodes["FluxGuidance"]["widgets_values"] == [3.0]
    # the upload button the frontend adds after an image chooser's required inputs
    assert nodes["LoadImage"]["widgets_values"] == ["in.png", "image"]
    assert nodes["LoadImageMask"]["widgets_values"] == ["mask.png", "red", "image"]
    composite = nodes["ImageCompositeMasked"]
    assert composite["widgets_values"] == [0, 0, False]
    assert [s["name"] for s in composite["inputs"]] == ["destination", "source", "mask"]
    assert nodes["ImageBlur"]["widgets_values"] == [6, 3.0]
    assert nodes["SaveImage"]["widgets_values"] == ["snail-studio"]
    assert nodes["CLIPTextEncode"]["widgets_values"] in (["a snail"], ["blur"])


def test_newer_schema_combos_are_widgets_too():
    api = _api("sd3.5 txt2img")
    nodes = {node["type"]: node for node in ui_workflow(api, DEFINITIONS)["nodes"]}
    assert nodes["TripleCLIPLoader"]["widgets_values"] == [
        "clip_l.safetensors",
        "clip_g.safetensors",
        "t5xxl_fp16.safetensors",
    ]
    assert nodes["TripleCLIPLoader"]["inputs"] == []
    assert nodes["ModelSamplingSD3"]["widgets_values"] == [3.0]


def test_a_node_without_a_definition_gives_no_graph(fake):
    with pytest.raises(KeyError):
        ui_workflow(_api("checkpoint txt2img"), {})
    connection = Connection(ServerConfig(fake.url))
    try:
        cache = NodeDefinitionCache()
        api = _api("checkpoint txt2img")
        assert cache.ui_workflow(connection, api)["nodes"]
        asked = len(fake.headers)
        assert cache.ui_workflow(connection, api)["nodes"]
        assert len(fake.headers) == asked  # definitions are asked for once per server
        api["30"] = {"class_type": "NoSuchNode", "inputs": {}}
        assert cache.ui_workflow(connection, api) is None
    finally:
        connection.close()


def test_a_widget_fed_by_a_link_is_a_marked_slot_and_keeps_its_place():
    api = _api("checkpoint txt2img")
    api["40"] = {"class_type": "SeedSource", "inputs": {}}
    api["3"]["inputs"]["seed"] = ["40", 0]
    source = {"input": {"required": {}}, "output": ["INT"], "output_name": ["seed"]}
    graph = ui_workflow(api, {**DEFINITIONS, "SeedSource": source})
    sampler = next(n for n in graph["nodes"] if n["type"] == "KSampler")
    assert sampler["widgets_values"] == [0, "fixed", 5, 7.5, "euler", "normal", 1.0]
    seed = sampler["inputs"][1]
    assert seed["name"] == "seed" and seed["widget"] == {"name": "seed"}
    assert graph["links"][seed["link"] - 1] == [seed["link"], 40, 0, 3, 1, "INT"]
