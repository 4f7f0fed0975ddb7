"""Masked reductions: hand-computed values, the all-zero mask, garbage off the mask."""

from __future__ import annotations

import math

import pytest
import torch

from stepcoder.rl.masked import masked_mean, masked_sum, masked_var, masked_whiten

X = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
M = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def test_masked_sum_and_mean_by_hand():
    assert masked_sum(X, M).item() == 1.0 + 2.0 + 4.0
    assert masked_mean(X, M).item() == pytest.approx((1.0 + 2.0 + 4.0) / 3)
    torch.testing.assert_close(masked_mean(X, M, dim=1), torch.tensor([(1.0 + 2.0) / 2, 4.0 / 1]))
    torch.testing.assert_close(masked_mean(X, M, dim=0), torch.tensor([(1.0 + 4.0) / 2, 2.0, 0.0]))


def test_masked_var_by_hand():
    mean = (1.0 + 2.0 + 4.0) / 3
    ss = (1.0 - mean) ** 2 + (2.0 - mean) ** 2 + (4.0 - mean) ** 2
    assert masked_var(X, M, unbiased=False).item() == pytest.approx(ss / 3)
    assert masked_var(X, M).item() == pytest.approx(ss / 2)


def test_masked_whiten_zero_mean_unit_var_on_mask_and_zero_off_mask():
    w = masked_whiten(X, M)
    mean = (1.0 + 2.0 + 4.0) / 3
    std = math.sqrt(((1.0 - mean) ** 2 + (2.0 - mean) ** 2 + (4.0 - mean) ** 2) / 2)
    assert w[0, 0].item() == pytest.approx((1.0 - mean) / std, rel=1e-5)
    assert masked_mean(w, M).abs().item() < 1e-6
    assert masked_var(w, M).item() == pytest.approx(1.0, rel=1e-5)
    assert w[M == 0].abs().sum().item() == 0.0


def test_masked_whiten_without_shift_keeps_the_mean():
    w = masked_whiten(X, M, shift_mean=False)
    assert masked_mean(w, M).item() == pytest.approx(masked_mean(X, M).item(), rel=1e-5)


def test_all_zero_mask_gives_zeros_not_nan():
    zero = torch.zeros_like(M)
    assert masked_sum(X, zero).item() == 0.0
    assert masked_mean(X, zero).item() == 0.0
    assert masked_var(X, zero).item() == 0.0
    torch.testing.assert_close(masked_mean(X, zero, dim=1), torch.zeros(2))
    assert torch.equal(masked_whiten(X, zero), torch.zeros_like(X))


def test_single_counted_position_unbiased_var_is_zero():
    one = torch.zeros_like(M)
    one[0, 1] = 1.0
    assert masked_var(X, one).item() == 0.0
    assert torch.isfinite(masked_whiten(X, one)).all()


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("garbage", [1e6, -3e8, float("inf"), float("nan")])
def test_garbage_off_mask_changes_nothing(seed, garbage):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 7, generator=g)
    mask = (torch.rand(4, 7, generator=g) > 0.4).float()
    mask[0, 0] = 1.0
    dirty = torch.where(mask == 0, torch.full_like(x, garbage), x)
    assert masked_sum(dirty, mask).item() == pytest.approx(masked_sum(x, mask).item())
    assert masked_mean(dirty, mask).item() == pytest.approx(masked_mean(x, mask).item())
    torch.testing.assert_close(masked_mean(dirty, mask, dim=1), masked_mean(x, mask, dim=1))
    assert masked_var(dirty, mask).item() == pytest.approx(masked_var(x, mask).item())
    torch.testing.assert_close(masked_whiten(dirty, mask), masked_whiten(x, mask))
