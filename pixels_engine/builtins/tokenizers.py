"""Tokenizers built locally over printable ASCII: the real vocabularies cannot be
downloaded here, and a model with random weights needs only ids of the right shape."""

import json
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
from transformers import CLIPTokenizer, T5Tokenizer

CHARS = [chr(c) for c in range(33, 127)]
# The ids of the CLIP tokenizer's special tokens: CLIP pools the text at the eos token.
CLIP_SPECIAL_IDS = {"bos_token_id": 188, "eos_token_id": 189, "pad_token_id": 189}
T5_SPECIAL = ("<pad>", "</s>", "<unk>")  # ids 0, 1, 2, as T5's own
T5_VOCAB = len(T5_SPECIAL) + 1 + 2 * len(CHARS)


def clip(folder: Path) -> CLIPTokenizer:
    """A CLIP tokenizer over ASCII characters; it yields 77 ids like CLIP's."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {token: i for i, token in enumerate(CHARS + [c + "</w>" for c in CHARS])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    assert vocab["<|endoftext|>"] == CLIP_SPECIAL_IDS["eos_token_id"]
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer.from_pretrained(folder, model_max_length=77)


def t5(folder: Path) -> T5Tokenizer:
    """A T5 (SentencePiece unigram) tokenizer over ASCII characters, ending every text
    with </s> as T5's does."""
    folder.mkdir(parents=True, exist_ok=True)
    pieces = [(token, 0.0) for token in T5_SPECIAL] + [("\u2581", -1.0)]
    pieces += [(c, -2.0) for c in CHARS] + [("\u2581" + c, -1.5) for c in CHARS]
    tokenizer = Tokenizer(models.Unigram(pieces, unk_id=T5_SPECIAL.index("<unk>")))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", T5_SPECIAL.index("</s>"))]
    )
    tokenizer.save(str(folder / "tokenizer.json"))
    return T5Tokenizer(tokenizer_file=str(folder / "tokenizer.json"), extra_ids=0)
