"""Where a CCCS prompt may end: at a token boundary the model has seen (token healing).

A stage > 0 prompt holds a prefix of the canonical solution made of whole lines, so it ends
with ``"\\n"``. Byte-level BPE tokenizers (the tiny one, GPT-2's, Llama's) and SentencePiece
ones (Gemma's) merge that newline with the next line's indentation into one token, so a prompt
ending in a bare ``"\\n"`` ends on a token the model never saw there: after SFT, 64 of 384
completions of such prompts parsed and none passed. The prompt therefore ends at the last
token boundary of the full text (prompt head + canonical solution) at or before the end of
the prefix's last non-blank character; the model writes the newline and the indentation.
"""

from __future__ import annotations

from typing import Any


def _encode(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def heal_prefix(tokenizer: Any, head: str, solution: str, prefix: str) -> str:
    """The longest start of ``prefix`` (itself a start of ``solution``) at which the prompt
    ``head + prefix'`` ends on a token boundary of ``head + solution``, with no trailing
    whitespace: ``tokens(head + prefix')`` is then a prefix of ``tokens(head + solution)``.

    ``tokenizer=None`` (text-only callers) keeps the line-level rule: the prefix without its
    trailing whitespace. The empty prefix stays empty.
    """
    if not prefix:
        return ""
    if not solution.startswith(prefix):
        raise ValueError("the CCCS prefix must be a start of the canonical solution")
    limit = len(prefix.rstrip())
    if tokenizer is None or limit == 0:
        return prefix[:limit]
    full = tokenizer(head + solution, add_special_tokens=False, return_offsets_mapping=True)
    full_ids = list(full["input_ids"])
    # character offsets in the solution where a token of the full text ends, last first
    ends = sorted({e - len(head) for _, e in full["offset_mapping"] if len(head) < e <= len(head) + limit})
    for end in reversed(ends):
        ids = _encode(tokenizer, head + solution[:end])
        if full_ids[:len(ids)] == ids:
            return solution[:end]
    return ""
