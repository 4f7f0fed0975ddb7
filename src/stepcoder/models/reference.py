"""The reference policy of the KL penalty (paper §1, beta = 0.05): the policy as it was
before RL."""

from __future__ import annotations

import contextlib
import copy
from typing import Iterator

import torch
from torch import nn

from stepcoder.models.forward import CHUNK_ELEMENTS, token_logprobs
from stepcoder.models.load import is_peft


class ReferencePolicy:
    """With LoRA, the policy itself with its adapter disabled (no third copy of the weights
    in memory); without LoRA, a frozen deep copy taken at construction time."""

    def __init__(self, policy: nn.Module):
        self._policy = policy
        self._frozen: nn.Module | None = None
        if not is_peft(policy):
            self._frozen = copy.deepcopy(policy).eval()
            self._frozen.requires_grad_(False)

    def to(self, device) -> "ReferencePolicy":
        """Move the frozen copy (if any) to ``device``; the adapter-off reference moves with the policy."""
        if self._frozen is not None:
            self._frozen.to(device)
        return self

    @property
    def uses_adapter_disable(self) -> bool:
        return self._frozen is None

    @contextlib.contextmanager
    def model(self) -> Iterator[nn.Module]:
        """The module that computes reference outputs, in eval mode for the duration."""
        module = self._policy if self._frozen is None else self._frozen
        was_training = module.training
        module.eval()
        try:
            if self._frozen is None:
                with self._policy.disable_adapter():
                    yield module
            else:
                yield module
        finally:
            module.train(was_training)

    @torch.no_grad()
    def logprobs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 completion_mask: torch.Tensor | None = None, temperature: float = 1.0,
                 chunk_elements: int = CHUNK_ELEMENTS) -> torch.Tensor:
        """(B, T - 1) log pi_ref of the next tokens (see ``token_logprobs``)."""
        with self.model() as module:
            return token_logprobs(module, input_ids, attention_mask, completion_mask, temperature, chunk_elements)
