"""The critic: a transformer body with a scalar value head, initialised from the policy
checkpoint (paper §1; MOSS-RLHF does the same)."""

from __future__ import annotations

import torch
from torch import nn

from stepcoder.models.config import ModelConfig
from stepcoder.models.forward import position_ids_from_mask
from stepcoder.models.load import decoder_of, is_peft, prepare_for_training, torch_dtype
from stepcoder.models.paths import resolve_model_path


def scale_gradient(x: torch.Tensor, coef: float) -> torch.Tensor:
    """``x`` in the forward pass; ``coef`` times its gradient in the backward pass (0: detached).

    >>> x = torch.ones(2, requires_grad=True); scale_gradient(x, 0.5).sum().backward(); x.grad
    tensor([0.5000, 0.5000])
    """
    if coef == 1.0:
        return x
    if coef == 0.0:
        return x.detach()
    return x * coef + x.detach() * (1.0 - coef)


class Critic(nn.Module):
    """``forward(input_ids, attention_mask) -> values (B, T)`` float32.

    The value head is ``nn.Linear(hidden, 1)`` initialised to zero, so every initial value is
    exactly 0 and the first advantages are the plain GAE returns, without noise from an
    untrained head; its gradient is non-zero from the first step (hidden states are not).
    The head stays float32 whatever the backbone dtype.
    """

    def __init__(self, backbone: nn.Module, hidden_size: int, shares_backbone: bool = False,
                 backbone_loss_coef: float = 0.0):
        super().__init__()
        self.backbone = backbone
        self.value_head = nn.Linear(hidden_size, 1, dtype=torch.float32)
        nn.init.zeros_(self.value_head.weight)
        nn.init.zeros_(self.value_head.bias)
        self.shares_backbone = shares_backbone
        # a shared body is the policy's: the value loss reaches it only at this weight
        self.backbone_loss_coef = backbone_loss_coef if shares_backbone else 1.0

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask,
                            position_ids=position_ids_from_mask(attention_mask), use_cache=False)
        hidden_BTH = scale_gradient(out.last_hidden_state, self.backbone_loss_coef)
        return self.value_head(hidden_BTH.float()).squeeze(-1)  # (B, T)

    def head_parameters(self) -> list[nn.Parameter]:
        """The value head alone (what a critic optimiser should own when the backbone is shared)."""
        return list(self.value_head.parameters())

    def checkpoint_state(self) -> dict[str, torch.Tensor]:
        """What a training checkpoint must hold to restore this critic in place: the value
        head, plus the backbone's LoRA adapter when the backbone is a peft model (its frozen
        base is the checkpoint it was loaded from), or the whole backbone when it is fully
        fine-tuned; nothing of a backbone shared with the policy (the policy's checkpoint
        holds it). Keys are ``named_parameters`` / ``state_dict`` names."""
        state = {f"value_head.{k}": v for k, v in self.value_head.state_dict().items()}
        if self.shares_backbone:
            return {k: v.detach().contiguous() for k, v in state.items()}
        if is_peft(self.backbone):
            state.update({f"backbone.{k}": p for k, p in self.backbone.named_parameters() if p.requires_grad})
        else:
            # named_parameters lists a tied tensor once (no shared storage in safetensors);
            # persistent buffers complete the state_dict of a fully fine-tuned body.
            state.update({f"backbone.{k}": p for k, p in self.backbone.named_parameters()})
            names = set(self.backbone.state_dict())
            state.update({f"backbone.{k}": b for k, b in self.backbone.named_buffers() if k in names})
        return {k: v.detach().contiguous() for k, v in state.items()}

    def load_checkpoint_state(self, state: dict[str, torch.Tensor]) -> None:
        """Copy a ``checkpoint_state()`` back in place; the keys must match exactly."""
        expected = self.checkpoint_state()
        if set(state) != set(expected):
            raise RuntimeError(f"critic checkpoint does not match the critic: missing {sorted(set(expected) - set(state))}, "
                               f"unexpected {sorted(set(state) - set(expected))}")
        targets = {**dict(self.named_parameters()), **dict(self.named_buffers())}
        with torch.no_grad():
            for name, tensor in state.items():
                targets[name].copy_(tensor)


def load_critic(cfg: ModelConfig, policy: nn.Module | None = None) -> Critic:
    """A new critic: on the policy's own body when ``cfg.critic_shares_backbone`` (pass
    ``policy``), else on separate weights loaded from ``cfg.critic_name_or_path`` or, by
    default, the policy checkpoint; LoRA and checkpointing as for the policy."""
    if cfg.critic_shares_backbone:
        if policy is None:
            raise ValueError("critic_shares_backbone=True: pass the policy to load_critic")
        body = decoder_of(policy)
        return Critic(body, body.config.hidden_size, shares_backbone=True,
                      backbone_loss_coef=cfg.critic_backbone_loss_coef)
    from transformers import AutoModel

    path = resolve_model_path(cfg.critic_name_or_path or cfg.name_or_path)
    body = AutoModel.from_pretrained(path, dtype=torch_dtype(cfg), trust_remote_code=cfg.trust_remote_code)
    hidden = body.config.hidden_size
    body = prepare_for_training(body, cfg, task_type="FEATURE_EXTRACTION")
    return Critic(body, hidden, shares_backbone=False)
