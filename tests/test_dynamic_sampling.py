"""Dynamic sampling (``ppo.oversample``): which sampled groups a PPO step trains on."""

from __future__ import annotations

import pytest

from stepcoder.problems import Problem, Test
from stepcoder.trainer.experience import Rollout, select_groups
from stepcoder.trainer.ppo_config import PPOConfig


def rollouts(rewards_per_group: list[list[float]]) -> list[Rollout]:
    out = []
    for g, rewards in enumerate(rewards_per_group):
        problem = Problem(id=f"p{g}", prompt="", solution=None, tests=[Test(kind="stdio", stdin="", stdout="")])
        for k, reward in enumerate(rewards):
            out.append(Rollout(problem, g, 0, "", [1], [2], "", f"c{k}", [(0, 0)], reward=reward))
    return out


def test_groups_with_contrast_come_first_in_draw_order_and_are_renumbered():
    #          0: agree   1: mixed    2: agree  3: mixed     4: mixed
    sampled = rollouts([[1, 1], [1, -0.3], [0, 0], [-1, 1], [-0.3, -1]])
    kept = select_groups(sampled, keep=2)
    assert [r.problem.id for r in kept] == ["p1", "p1", "p3", "p3"]
    assert [r.group for r in kept] == [0, 0, 1, 1]
    assert [r.reward for r in kept] == [1, -0.3, -1, 1]  # the rollouts themselves are unchanged


def test_agreeing_groups_fill_the_batch_so_its_size_never_changes():
    sampled = rollouts([[1, 1], [0, 0], [1, -1], [0.5, 0.5]])
    kept = select_groups(sampled, keep=3)
    # the one mixed group, then the agreeing ones in draw order, renumbered in draw order
    assert [r.problem.id for r in kept] == ["p0", "p0", "p1", "p1", "p2", "p2"]
    assert sorted({r.group for r in kept}) == [0, 1, 2]
    assert len(select_groups(sampled, keep=4)) == len(sampled)
    assert select_groups(sampled, keep=0) == []


def test_oversample_must_be_positive():
    with pytest.raises(ValueError, match="ppo.oversample=0"):
        PPOConfig(oversample=0)
