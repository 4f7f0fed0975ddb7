"""Masked reductions: the one home for "average over the tokens that count".

Mask polarity everywhere: ``1`` means "this position counts"; ``0`` positions are ignored
completely, whatever they hold (their values never reach the result, even inf or NaN, because
we select with ``torch.where`` instead of multiplying).

All-zero mask (documented, tested): sums are 0, means are 0, variances are 0, and
``masked_whiten`` returns zeros. A reduction over an empty set gives 0 rather than NaN so
that one empty row cannot poison a whole minibatch (cf. TRL ``masked_var``, which raises).
"""

from __future__ import annotations

import torch
from torch import Tensor


def _keep(x: Tensor, mask: Tensor) -> Tensor:
    """``x * mask`` where the mask is non-zero, exactly 0 elsewhere (garbage never leaks)."""
    mask = mask.to(x.dtype)
    return torch.where(mask != 0, x * mask, torch.zeros_like(x))


def masked_sum(x: Tensor, mask: Tensor, dim: int | None = None) -> Tensor:
    """Sum of ``x`` over positions where ``mask`` is 1 (over ``dim``, or everything)."""
    kept = _keep(x, mask)
    return kept.sum() if dim is None else kept.sum(dim)


def _count(x: Tensor, mask: Tensor, dim: int | None) -> Tensor:
    return masked_sum(torch.ones_like(x), mask, dim)


def masked_mean(x: Tensor, mask: Tensor, dim: int | None = None) -> Tensor:
    """Mean over the positions that count; 0 for an all-zero mask (no NaN)."""
    count = _count(x, mask, dim)
    return masked_sum(x, mask, dim) / count.clamp(min=1.0)


def masked_var(x: Tensor, mask: Tensor, unbiased: bool = True) -> Tensor:
    """Variance over all positions that count (a scalar).

    With ``unbiased`` the n/(n-1) correction is applied; for n <= 1 (unbiased) or n = 0
    the answer is 0, not NaN.
    """
    n = _count(x, mask, None)
    centered = x - masked_mean(x, mask)
    var = masked_sum(centered * centered, mask) / n.clamp(min=1.0)
    if unbiased:
        var = torch.where(n > 1, var * n / (n - 1).clamp(min=1.0), torch.zeros_like(var))
    return var


def masked_whiten(x: Tensor, mask: Tensor, shift_mean: bool = True, eps: float = 1e-8) -> Tensor:
    """Normalise ``x`` to zero mean and unit variance over the positions that count.

    With ``shift_mean=False`` the mean is added back (only the scale changes), as in
    TRL/OpenRLHF ``masked_whiten``. Positions outside the mask are set to 0.
    """
    mean = masked_mean(x, mask)
    var = masked_var(x, mask)
    whitened = (x - mean) * torch.rsqrt(var + eps)
    if not shift_mean:
        whitened = whitened + mean
    return _keep(whitened, (mask != 0).to(x.dtype))
