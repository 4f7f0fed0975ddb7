"""Atomic checkpoints: exact round trip (weights, Adam moments, scheduler, RNG), crash safety,
pruning, HF/peft models."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from stepcoder.plumbing.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint


def make_training(seed: int):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
    return model, opt, sched


def train_step(model, opt, sched) -> None:
    # data drawn from the global RNGs, so a bad RNG restore changes the trajectory.
    x = torch.randn(16, 4) + float(np.random.rand()) + random.random()
    loss = model(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()


def run(model, opt, sched, steps: int) -> None:
    for _ in range(steps):
        train_step(model, opt, sched)


def test_round_trip_matches_uninterrupted_run(tmp_path):
    random.seed(0)
    np.random.seed(0)
    model, opt, sched = make_training(0)
    run(model, opt, sched, 3)
    path = save_checkpoint(
        tmp_path, 3, models={"policy": model}, optimizers={"policy": opt}, schedulers={"policy": sched},
        state={"curriculum": {"p1": [2, 0.5]}, "episodes": 12},
    )  # fmt: skip
    run(model, opt, sched, 2)
    expected = [p.detach().clone() for p in model.parameters()]
    expected_next = (random.random(), float(np.random.rand()), torch.rand(1).item())

    # a fresh process: other weights, other RNG states
    random.seed(99)
    np.random.seed(99)
    model2, opt2, sched2 = make_training(1)
    state = load_checkpoint(path, models={"policy": model2}, optimizers={"policy": opt2}, schedulers={"policy": sched2})
    assert state == {"step": 3, "curriculum": {"p1": [2, 0.5]}, "episodes": 12}
    assert sched2.last_epoch == 3
    moments = opt2.state[next(iter(model2.parameters()))]
    assert int(moments["step"]) == 3 and moments["exp_avg_sq"].abs().sum() > 0
    run(model2, opt2, sched2, 2)
    for a, b in zip(expected, model2.parameters()):
        assert torch.equal(a, b)
    assert (random.random(), float(np.random.rand()), torch.rand(1).item()) == expected_next


def test_latest_and_pruning(tmp_path):
    model, opt, _ = make_training(0)
    assert latest_checkpoint(tmp_path) is None
    for step in (10, 20, 30, 40):
        save_checkpoint(tmp_path, step, models={"m": model}, optimizers={"m": opt}, keep_last=2)
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["step-000030", "step-000040"]
    assert latest_checkpoint(tmp_path).name == "step-000040"
    save_checkpoint(tmp_path, 40, models={"m": model}, state={"again": True}, keep_last=0)  # re-save a step
    assert load_checkpoint(latest_checkpoint(tmp_path), models={"m": model})["again"] is True
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == names


def test_checkpoint_folders_follow_the_umask(tmp_path):
    """A checkpoint is an ordinary folder (0755 under umask 022), not a private temp dir."""
    import os

    model, opt, _ = make_training(0)
    old = os.umask(0o022)
    try:
        for _ in range(2):  # the second save moves the first one aside
            final = save_checkpoint(tmp_path, 10, models={"m": model}, optimizers={"m": opt})
    finally:
        os.umask(old)
    assert final.stat().st_mode & 0o777 == 0o755


class CrashingOptimizer:
    """Raises while the checkpoint is half written (after state.json and the model)."""

    def state_dict(self):
        raise KeyboardInterrupt("killed mid-write")


def test_crash_mid_write_leaves_previous_checkpoint_intact(tmp_path):
    model, opt, _ = make_training(0)
    good = save_checkpoint(tmp_path, 1, models={"m": model}, optimizers={"m": opt}, state={"v": 1})
    before = sorted(p.relative_to(good) for p in good.rglob("*"))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, 2, models={"m": model}, optimizers={"m": CrashingOptimizer()}, state={"v": 2})
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step-000001"]
    assert latest_checkpoint(tmp_path) == good
    assert sorted(p.relative_to(good) for p in good.rglob("*")) == before
    fresh, _, _ = make_training(5)
    assert load_checkpoint(good, models={"m": fresh})["v"] == 1
    for a, b in zip(fresh.parameters(), model.parameters()):
        assert torch.equal(a + 1.0, b)


def test_stale_temp_dir_of_a_killed_writer_is_invisible_and_cleaned(tmp_path):
    model, _, _ = make_training(0)
    stale = tmp_path / "checkpoints" / ".tmp-step-000002-abc"
    (stale / "models").mkdir(parents=True)
    assert latest_checkpoint(tmp_path) is None
    save_checkpoint(tmp_path, 3, models={"m": model})
    assert not stale.exists()
    assert latest_checkpoint(tmp_path).name == "step-000003"


def test_state_must_be_json(tmp_path):
    model, _, _ = make_training(0)
    with pytest.raises(TypeError):
        save_checkpoint(tmp_path, 1, models={"m": model}, state={"bad": object()})
    assert latest_checkpoint(tmp_path) is None
    assert list((tmp_path / "checkpoints").iterdir()) == []


class HeadOnFrozenBody(torch.nn.Module):
    """A container with its own save format, like a critic (backbone + value head)."""

    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.body = torch.nn.Linear(3, 3).requires_grad_(False)
        self.head = torch.nn.Linear(3, 1)
        self.norm = torch.nn.BatchNorm1d(3)

    def save_pretrained(self, out):
        out.mkdir(parents=True, exist_ok=True)
        torch.save(self.head.state_dict(), out / "head.pt")


def test_custom_container_restores_trainable_parameters_and_buffers(tmp_path):
    saved = HeadOnFrozenBody(0)
    saved.norm(torch.randn(8, 3))  # moves the running statistics (buffers)
    path = save_checkpoint(tmp_path, 1, models={"critic": saved})
    assert (path / "models" / "critic" / "head.pt").is_file()  # its own format, for eval
    restored = HeadOnFrozenBody(1)
    body_before = restored.body.weight.clone()
    load_checkpoint(path, models={"critic": restored})
    assert torch.equal(restored.head.weight, saved.head.weight)
    assert torch.equal(restored.norm.running_mean, saved.norm.running_mean)
    assert torch.equal(restored.body.weight, body_before)  # frozen: comes from the base, not the checkpoint
    with pytest.raises(KeyError, match="no model 'policy'"):
        load_checkpoint(path, models={"policy": restored})


@pytest.mark.slow
def test_hf_model_with_tied_weights_and_peft_adapter(tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaModel

    from stepcoder.models.critic import Critic

    cfg = LlamaConfig(
        vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    policy = get_peft_model(LlamaForCausalLM(cfg), LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    critic = LlamaForCausalLM(cfg)
    value_model = Critic(LlamaModel(cfg), hidden_size=16)
    with torch.no_grad():
        value_model.value_head.weight.add_(1.0)
        for p in list(policy.parameters()) + list(critic.parameters()):
            p.add_(torch.randn_like(p))
    path = save_checkpoint(tmp_path, 7, models={"policy": policy, "critic": critic, "value": value_model})
    assert (path / "models" / "policy" / "adapter_model.safetensors").is_file()

    torch.manual_seed(0)  # same base weights, fresh adapter
    policy2 = get_peft_model(LlamaForCausalLM(cfg), LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    critic2 = LlamaForCausalLM(cfg)
    value2 = Critic(LlamaModel(cfg), hidden_size=16)
    load_checkpoint(path, models={"policy": policy2, "critic": critic2, "value": value2})
    for k, v in value_model.state_dict().items():
        assert torch.equal(v, value2.state_dict()[k]), k
    lora = {k: v for k, v in policy.state_dict().items() if "lora_" in k}
    assert lora and all(torch.equal(v, policy2.state_dict()[k]) for k, v in lora.items())
    for k, v in critic.state_dict().items():
        assert torch.equal(v, critic2.state_dict()[k]), k
    assert critic2.lm_head.weight.data_ptr() == critic2.model.embed_tokens.weight.data_ptr()
