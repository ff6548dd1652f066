"""Build CLIP tokenizer files (vocab.json, merges.txt) from CLIP's published BPE merge list.

The merge list (`bpe_simple_vocab_16e6.txt.gz`, 49,408-token vocabulary) ships in the
open_clip_torch wheel; this turns it into the files `transformers.CLIPTokenizer` reads, the
same way the public CLIP tokenizer files were made. Run once; the results live in
studio/resources/tokenizers/clip/.

    python -m studio.training.clip_vocab bpe_simple_vocab_16e6.txt.gz \
        studio/resources/tokenizers/clip
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

# CLIP keeps the first 48,894 merges:
# 49,408 tokens = 256 bytes + 256 bytes with "</w>" + merges + 2 specials.
MERGE_COUNT = 49152 - 256 - 2


def byte_alphabet() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for raw bytes, in CLIP's vocab order:
    bytes that are printable as themselves first, then the rest mapped above U+0100."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    others = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + i) for i in range(len(others))]


def build(bpe_gz: Path, out_dir: Path) -> None:
    with gzip.open(bpe_gz) as handle:
        lines = handle.read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : MERGE_COUNT + 1]]
    alphabet = byte_alphabet()
    tokens = alphabet + [c + "</w>" for c in alphabet] + ["".join(m) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab = {token: index for index, token in enumerate(tokens)}
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    merge_text = "#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n"
    (out_dir / "merges.txt").write_text(merge_text, encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bpe_gz", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    build(args.bpe_gz, args.out_dir)
