"""FGO (StepCoder §3.2): executed lines + token offsets -> 0/1 mask over completion tokens."""

from __future__ import annotations

from stepcoder.masking.fgo import fgo_token_mask, line_states

__all__ = ["fgo_token_mask", "line_states"]
