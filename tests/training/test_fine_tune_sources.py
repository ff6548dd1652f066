"""`train --init` starts from a run or from the shipped snail-mini folder."""

from __future__ import annotations

import json

import torch
from diffusers import AutoencoderKL

from studio.core.paths import RESOURCES
from studio.training.train import adopt_vae, source_facts

SHIPPED = RESOURCES / "models" / "snail-mini"


def test_a_shipped_folder_tells_how_it_was_trained():
    facts = source_facts(SHIPPED)
    assert facts["unet_steps"] > 0 and facts["unet_hours"] > 0
    assert facts["vae"]["steps"] > 0


def test_a_run_tells_how_it_was_trained_from_its_logs(tmp_path):
    (tmp_path / "vae").mkdir()
    (tmp_path / "vae" / "training.json").write_text(json.dumps({"steps": 5, "psnr_db": 20.0}))
    # step, loss, time: a 30 s gap counts, a 2-hour pause between sessions does not.
    (tmp_path / "loss.csv").write_text("1,0.5,1000.0\n2,0.4,1030.0\n3,0.3,8230.0\n")
    facts = source_facts(tmp_path)
    assert facts == {
        "vae": {"steps": 5, "psnr_db": 20.0},
        "init": None,
        "unet_steps": 3,
        "unet_hours": 0.01,
        "final_loss": 0.4,
    }


def test_the_shipped_vae_is_adopted_in_fp32_once(tmp_path):
    adopt_vae(SHIPPED, tmp_path)
    vae = AutoencoderKL.from_pretrained(tmp_path / "vae")
    assert next(vae.parameters()).dtype == torch.float32
    facts = json.loads((tmp_path / "vae" / "training.json").read_text())
    assert facts == source_facts(SHIPPED)["vae"]
    (tmp_path / "vae" / "training.json").write_text("{}")
    adopt_vae(SHIPPED, tmp_path)
    assert (tmp_path / "vae" / "training.json").read_text() == "{}"
