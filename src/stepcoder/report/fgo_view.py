"""Text view of one logged sample's FGO mask (paper §3.2: FGO drops the tokens of code the
tests never executed from the policy loss)."""

from __future__ import annotations

from typing import Any

MASK_OPEN, MASK_CLOSE = "[[", "]]"


def render_fgo_sample(sample: dict[str, Any]) -> str:
    """The completion of a ``samples.jsonl`` line with each run of masked tokens (``fgo_mask``
    0: left out of the policy loss) wrapped in ``[[ ]]``.

    >>> render_fgo_sample({"completion_tokens": ["x = 1", "\\n", "if x:", " y"], "fgo_mask": [1, 1, 0, 0]})
    'x = 1\\n[[if x: y]]'

    Raises ``ValueError`` when the sample has no per-token mask, or tokens and mask differ in
    length (the mask would be shown against the wrong text).
    """
    tokens, mask = sample.get("completion_tokens"), sample.get("fgo_mask")
    if tokens is None or mask is None:
        raise ValueError("sample has no completion_tokens / fgo_mask (logged by an older version?)")
    if len(tokens) != len(mask):
        raise ValueError(f"{len(tokens)} completion tokens but {len(mask)} mask values")
    out, run = [], []
    for token, keep in zip(tokens, mask):
        if keep:
            out.append(_wrap("".join(run)))
            run = []
            out.append(token)
        else:
            run.append(token)
    out.append(_wrap("".join(run)))
    return "".join(out)


def _wrap(masked_text: str) -> str:
    # masked tokens that add no text (an eos clipped to the end) show nothing
    return f"{MASK_OPEN}{masked_text}{MASK_CLOSE}" if masked_text else ""
