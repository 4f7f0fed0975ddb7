"""Character offsets of generated tokens, by incremental decoding.

A token's span is every character it contributes at least one byte to, as HF offset mappings
do: the bytes of one multi-byte UTF-8 character split over several tokens give each of those
tokens that character's span, so spans may overlap by one character.
"""

from __future__ import annotations

from typing import Sequence

_REPLACEMENT = "\ufffd"


def _decoder(tokenizer):
    # The Rust tokenizer's own decode skips the Python wrapper (several times faster per call).
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return lambda ids: backend.decode(ids, skip_special_tokens=True)
    return lambda ids: tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def decode_with_offsets(tokenizer, ids: Sequence[int]) -> tuple[str, list[tuple[int, int]]]:
    """The decoded text of ``ids`` (special tokens skipped) and each token's (start, end) in it.

    Decodes a sliding window (the last complete token plus the pending ones) rather than each
    whole prefix, so the cost is linear in ``len(ids)``; the one token of context keeps the
    decoders that drop a leading space at the start of a text (SentencePiece) consistent.
    A token that leaves a character incomplete is seen by its trailing U+FFFD, so text that
    genuinely ends in U+FFFD mid-way may get spans one character too wide.
    """
    decode = _decoder(tokenizer)
    text = ""  # complete characters decoded so far
    window_start, context_end = 0, 0
    context_len = 0  # decode(ids[window_start:context_end]) == text[len(text) - context_len:]
    prev_complete = 0  # len(text) plus complete characters of pending tokens, after the last token
    offsets: list[tuple[int, int]] = []
    for j in range(len(ids)):
        piece = decode(ids[window_start:j + 1])
        stripped = piece.rstrip(_REPLACEMENT)
        partial = len(stripped) < len(piece)
        complete = max(prev_complete, len(text) + len(stripped) - context_len)
        offsets.append((prev_complete, complete + 1 if partial else complete))
        prev_complete = complete
        if not partial:
            text += stripped[context_len:]
            window_start, context_end = context_end, j + 1
            context_len = len(decode(ids[window_start:context_end]))
    if context_end < len(ids):  # ends inside a character: the decode shows U+FFFD there
        text += decode(ids[window_start:])[context_len:]
    return text, [(min(s, len(text)), min(e, len(text))) for s, e in offsets]


def token_char_offsets(tokenizer, ids: Sequence[int]) -> list[tuple[int, int]]:
    """(start, end) character span of each token of ``ids`` within ``tokenizer.decode(ids,
    skip_special_tokens=True)``; special tokens (eos) get an empty span at their position."""
    return decode_with_offsets(tokenizer, ids)[1]
