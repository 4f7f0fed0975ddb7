"""The seams between the method's parts: group advantages are not whitened twice, a shared
critic body is not trained by the value loss unless asked, the reference runs under the
policy's precision, FGO masks and CCCS prefixes reach the loss as zero gradient, one rollout
followed from prompt to loss, and a CCCS stage moves in a real training step."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from stepcoder.rl import RolloutBatch
from stepcoder.trainer.packing import pack
from stepcoder.trainer.update import Learner, UpdateSettings, run_update

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def group_batch(rewards: list[float], groups: list[int], lengths: list[int] | None = None) -> RolloutBatch:
    lengths = lengths or [2] * len(rewards)
    packed = pack([[5]] * len(rewards), [[1] * n for n in lengths], pad_id=0)
    return RolloutBatch(input_ids=packed.input_ids, attention_mask=packed.attention_mask,
                        action_mask=packed.action_mask, loss_mask=packed.action_mask,
                        old_logprobs=torch.zeros_like(packed.action_mask), seq_rewards=torch.tensor(rewards),
                        group_ids=torch.tensor(groups))


def test_group_mode_does_not_whiten_again_by_default():
    """A group whose rollouts all pass has nothing to prefer: advantage exactly 0 (whitening
    the batch again gave it +0.44 here)."""
    from stepcoder.trainer.advantages import with_advantages
    from stepcoder.trainer.ppo_config import PPOConfig

    # unequal lengths: the token-weighted batch mean of the group advantages is not 0
    batch = group_batch([1.0, 1.0, 1.0, -1.0, 1.0, -0.3], [0, 0, 0, 1, 1, 1], lengths=[2, 2, 2, 1, 4, 1])
    cfg = PPOConfig(advantage="group")
    assert cfg.whiten() is False and PPOConfig().whiten() is True
    out, _ = with_advantages(batch, cfg)
    assert torch.equal(out.advantages[:3], torch.zeros(3, 4))
    whitened, _ = with_advantages(batch, dataclasses.replace(cfg, whiten_advantages=True))  # asked for: kept
    assert whitened.advantages[:3, :2].abs().min() > 0.1


def tiny_policy():
    from stepcoder.models import ModelConfig, load_policy

    return load_policy(ModelConfig(name_or_path="tiny"))


def test_shared_critic_body_gets_no_value_gradient_unless_asked():
    from stepcoder.models.critic import Critic

    ids, mask = torch.randint(3, 100, (2, 6)), torch.ones(2, 6, dtype=torch.long)
    for coef, body_moves in ((0.0, False), (0.5, True)):
        policy = tiny_policy()
        critic = Critic(policy.model, policy.config.hidden_size, shares_backbone=True, backbone_loss_coef=coef)
        critic.value_head.weight.data.normal_()  # a zero head would pass no gradient either way
        critic(ids, mask).pow(2).mean().backward()
        body_grads = [p.grad for p in policy.model.parameters() if p.grad is not None and p.grad.abs().sum() > 0]
        assert bool(body_grads) is body_moves, coef
        assert critic.value_head.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="critic_backbone_loss_coef"):
        from stepcoder.models import ModelConfig

        ModelConfig(critic_backbone_loss_coef=0.5)  # only meaningful on a shared body


@pytest.mark.parametrize("precision", ["no", "bf16"])
def test_policy_equal_to_reference_gives_exactly_zero_kl(precision):
    """The reference is run under the policy's precision: with policy == reference the KL is
    exactly 0 whatever the mixed-precision setting."""
    from stepcoder.models import ReferencePolicy
    from stepcoder.plumbing.distributed import make_accelerator
    from stepcoder.trainer.forward import fill_forward_passes

    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)  # one precision per process otherwise
    try:
        acc = make_accelerator(cpu=True, mixed_precision=precision)
        policy = tiny_policy()
        reference = ReferencePolicy(policy)
        model = acc.prepare(policy)
        batch = group_batch([1.0, -1.0], [0, 0])
        filled, metrics = fill_forward_passes(batch, model, reference, None, 0.8, chunk_rows=2, accelerator=acc)
        assert torch.equal(filled.old_logprobs, filled.ref_logprobs)
        assert metrics["kl"] == 0.0
    finally:
        AcceleratorState._reset_state(reset_partial_state=True)


def toy_batch(seed: int = 0):
    from test_trainer_update import make_batch

    return make_batch(seed)


def policy_gradient(batch: RolloutBatch) -> list[torch.Tensor]:
    from test_trainer_update import ToyLM, learner, toy_logprobs

    torch.manual_seed(0)
    policy = ToyLM()
    settings = UpdateSettings(epochs=1, minibatch_size=len(batch), grad_accum=1, clip_range=0.2,
                              value_clip_range=0.2, max_grad_norm=0.0)
    grads: list[torch.Tensor] = []
    opt = learner(policy, toy_logprobs)
    # capture the gradient at the optimizer step instead of stepping
    opt.optimizer.step = lambda: grads.extend(p.grad.clone() for p in policy.parameters())
    run_update(batch, settings, opt, None, torch.Generator().manual_seed(1))
    return grads


def test_fgo_masked_and_prefix_positions_change_no_gradient():
    """Put garbage where the loss mask is 0 (FGO-masked completion tokens, and the prompt with
    its CCCS prefix): the policy gradient does not change (STYLE: mask property tests)."""
    batch = toy_batch()
    assert (batch.loss_mask == 0).any() and (batch.action_mask - batch.loss_mask).sum() > 0
    off = batch.loss_mask == 0
    gen = torch.Generator().manual_seed(7)
    garbage = dataclasses.replace(
        batch,
        advantages=torch.where(off, 1e3 * torch.randn(batch.advantages.shape, generator=gen), batch.advantages),
        old_logprobs=torch.where(off, -50 * torch.rand(batch.old_logprobs.shape, generator=gen), batch.old_logprobs))
    for a, b in zip(policy_gradient(batch), policy_gradient(garbage), strict=True):
        torch.testing.assert_close(a, b)
    # and the mask does matter: unmasking the FGO tokens changes the gradient
    unmasked = dataclasses.replace(garbage, loss_mask=garbage.action_mask)
    assert any(not torch.allclose(a, b) for a, b in zip(policy_gradient(batch), policy_gradient(unmasked)))


@pytest.mark.slow
def test_one_rollout_from_prompt_to_loss(tmp_path):
    """Follow rollouts of a stage > 0 problem through generate -> execute -> reward -> batch:
    the prompt ends with the healed prefix, the executed program is prefix + completion, and
    only completion tokens (FGO-kept ones) are in the loss."""
    from stepcoder.config import config_from_dict
    from stepcoder.curriculum import Curriculum
    from stepcoder.models import ModelConfig, load_policy, load_tokenizer
    from stepcoder.problems import Problem, Test
    from stepcoder.sandbox import Sandbox
    from stepcoder.trainer.config import TrainConfig
    from stepcoder.trainer.experience import execute, sample_rollouts, score, to_batch

    problem = Problem(id="p", prompt="Read n and print how many of 1..n are even.", difficulty="introductory",
                      solution="n = int(input())\ncount = 0\nfor i in range(1, n + 1):\n    if i % 2 == 0:\n"
                               "        count += 1\nprint(count)\n",
                      tests=[Test(kind="stdio", stdin="4\n", stdout="2\n")])
    cfg = config_from_dict(TrainConfig, {
        "model": {"name_or_path": "tiny"}, "prompt": {"template": "plain"},
        "sampling": {"n": 3, "max_new_tokens": 24, "batch_size": 8},
        "curriculum": {"split_kinds": ["if", "elif", "for", "while"]},
        "sandbox": {"workers": 1, "preload": []}})
    tokenizer, model = load_tokenizer(cfg.model), load_policy(cfg.model)
    curriculum = Curriculum([problem], cfg.curriculum)
    assert curriculum.stage(problem) == 1
    raw = curriculum.prefix_for(problem)
    rollouts = sample_rollouts(model, tokenizer, [problem], curriculum, cfg, seed=0)
    with Sandbox(cfg.sandbox) as sandbox:
        execute(sandbox, rollouts)
    score(rollouts, cfg)
    batch = to_batch(rollouts, tokenizer.pad_token_id)
    for row, r in enumerate(rollouts):
        assert r.prefix == raw.rstrip() and r.program == r.prefix + r.completion
        assert tokenizer.decode(r.prompt_ids, skip_special_tokens=True).endswith(r.prefix)
        # the loss mask covers the completion's tokens only, none of the prompt and its prefix:
        # the action columns hold exactly the sampled completion ids
        actions = batch.input_ids[row, 1:][batch.action_mask[row].bool()].tolist()
        assert actions == r.completion_ids
        assert batch.loss_mask[row].sum() == sum(r.fgo_mask) <= len(r.completion_ids)
        assert ((batch.loss_mask[row] > 0) <= (batch.action_mask[row] > 0)).all()
        assert batch.seq_rewards[row] == r.reward


@pytest.mark.slow
def test_cccs_stage_moves_in_a_real_training_step(tmp_path):
    """When a problem's pass rate crosses the threshold during a PPO step, its stage drops in
    that step's curriculum update (problems whose every prefix passes, see must_show)."""
    from test_trainer_must_show import must_show_config

    from stepcoder.trainer.ppo import PPOTrainer

    from transformers import AutoTokenizer

    from stepcoder.models.tiny import TOKENIZER_DIR

    cfg = must_show_config(tmp_path)
    # every token's text stops the completion (not only ASCII: the random model may start with
    # any token), so each program is exactly its prefix, which passes
    vocab = AutoTokenizer.from_pretrained(str(TOKENIZER_DIR))
    stops = sorted({vocab.decode([i]) for i in range(len(vocab))} - {""})
    cfg = dataclasses.replace(cfg, training=dataclasses.replace(cfg.training, steps=1, problems_per_step=4),
                              prompt=dataclasses.replace(cfg.prompt, stop=[*cfg.prompt.stop, *stops]))
    trainer = PPOTrainer(cfg)
    before = {p.id: trainer.curriculum.stage(p) for p in trainer.problems}
    trainer.train()
    after = {p.id: trainer.curriculum.stage(p) for p in trainer.problems}
    assert all(after[i] == before[i] - 1 for i in before), (before, after)
    metrics = [json.loads(line) for line in Path(cfg.training.output_dir, "metrics.jsonl").read_text().splitlines()]
    assert metrics[0]["cccs_prefixed_frac"] == 1.0  # every rollout of the step had a prefix
    assert metrics[0]["cccs_prefixed_compile_error_rate"] == 0.0
