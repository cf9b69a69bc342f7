"""Tiny models built on the fly: random weights, a small trained tokenizer.

Nothing is downloaded: a byte-level BPE tokenizer is trained on a few sentences (so any text
round-trips), given a chat template, and saved with a Llama (a causal language model) or a
BERT encoder (an embedding model's shape) of random weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["CHAT_TEMPLATE", "build_tiny_encoder", "build_tiny_model"]

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
_SPECIAL = ["<|bos|>", "<|eos|>", "<|pad|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Postgres stores vectors with pgvector; the gateway speaks OpenAI's wire format.",
    "Local models answer prompts that must not leave the building.",
    "Hello world! How are you today? Numbers: 0 1 2 3 4 5 6 7 8 9.",
    "Ünïcödé text, emoji 🙂 and CJK 漢字 must round-trip through the tokenizer.",
]


def _tokenizer(folder: Path, vocab_size: int) -> Any:
    """A byte-level BPE tokenizer trained on the corpus above, saved to ``folder``."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(
        _CORPUS * 4, vocab_size=vocab_size, min_frequency=1, special_tokens=_SPECIAL
    )
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=trainer,
        bos_token="<|bos|>",
        eos_token="<|eos|>",
        pad_token="<|pad|>",
        additional_special_tokens=_SPECIAL[3:],
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)
    return tokenizer


def build_tiny_model(
    folder: Path,
    *,
    hidden_size: int = 64,
    layers: int = 2,
    vocab_size: int = 384,
    context_length: int = 2048,
    seed: int = 0,
) -> Path:
    """Write a random-weight Llama and its tokenizer to ``folder``; returns ``folder``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = _tokenizer(folder, vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=context_length,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(folder)
    (folder / "ragway-tiny.json").write_text(json.dumps({"seed": seed}))
    return folder


def build_tiny_encoder(
    folder: Path, *, hidden_size: int = 64, layers: int = 2, vocab_size: int = 384, seed: int = 0
) -> Path:
    """Write a random-weight BERT encoder (an embedding model's shape) and its tokenizer."""
    import torch
    from transformers import BertConfig, BertModel

    tokenizer = _tokenizer(folder, vocab_size)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 4,
        num_hidden_layers=layers,
        num_attention_heads=4,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder)
    return folder
