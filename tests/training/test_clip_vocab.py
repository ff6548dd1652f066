from __future__ import annotations

from studio.training.architecture import build_tokenizer
from studio.training.clip_vocab import byte_alphabet


def test_the_bundled_clip_vocabulary_encodes_like_clip():
    tokenizer = build_tokenizer()
    assert len(tokenizer) == 49408
    ids = tokenizer("a photo of a cat", padding=False).input_ids
    assert ids == [49406, 320, 1125, 539, 320, 2368, 49407]


def test_any_text_tokenizes_without_unknown_tokens():
    tokenizer = build_tokenizer()
    ids = tokenizer("Schnecke 🐌 à la crème, 12px!", padding=False).input_ids
    assert tokenizer.unk_token_id not in ids[1:-1]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "schnecke 🐌 à la crème , 1 2 px !"


def test_byte_alphabet_covers_every_byte_once():
    alphabet = byte_alphabet()
    assert len(alphabet) == len(set(alphabet)) == 256
    assert alphabet[ord("a") - ord("!")] == "a"
