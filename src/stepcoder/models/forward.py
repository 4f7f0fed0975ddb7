"""Forward passes of the policy and the critic: per-token log-probs, entropy and values.

Index convention: for ``input_ids`` of shape (B, T), ``logprobs[:, t]`` is
log pi(input_ids[:, t + 1] | input_ids[:, :t + 1]), shape (B, T - 1); ``values[:, t]`` is
V(input_ids[:, :t + 1]), shape (B, T), so the value of the state in which token t + 1 was
chosen is ``values[:, t]`` (slice ``values[:, :-1]`` to align with logprobs).
"""

from __future__ import annotations

import torch
from torch import nn

# Elements of one float32 chunk of logits (64 Mi floats = 256 MiB): rows per chunk is this
# divided by the vocabulary, so gemma's 262k vocabulary takes 256 rows at a time.
CHUNK_ELEMENTS = 1 << 26


def position_ids_from_mask(attention_mask_BT: torch.Tensor) -> torch.Tensor:
    """Positions as HF ``generate`` computes them for left-padded rows (cumsum - 1, pads at 0),
    so that a training forward pass sees the tokens where sampling saw them."""
    pos_BT = attention_mask_BT.long().cumsum(-1) - 1
    return pos_BT.clamp_min(0)


def _float_row_chunks(logits_BTV: torch.Tensor, temperature: float, chunk_elements: int):
    """(start row, float32 chunk of rows / temperature) over the flattened (B * T, V) logits:
    at most ``chunk_elements`` float32 logits exist beyond the input at any time."""
    V = logits_BTV.shape[-1]
    flat_NV = logits_BTV.reshape(-1, V)
    rows = max(1, chunk_elements // V)
    for start in range(0, flat_NV.shape[0], rows):
        chunk_nV = flat_NV[start:start + rows].float()
        yield start, (chunk_nV / temperature if temperature != 1.0 else chunk_nV)


def selective_log_softmax(logits_BTV: torch.Tensor, index_BT: torch.Tensor, temperature: float = 1.0,
                          chunk_elements: int = CHUNK_ELEMENTS) -> torch.Tensor:
    """log softmax(logits / temperature)[index] in float32, without building a second (B, T, V)
    tensor: rows are processed in chunks, each as logit[index] - logsumexp(logits) (TRL
    ``selective_log_softmax`` idea). Differentiable."""
    return selective_log_softmax_and_entropy(logits_BTV, index_BT, temperature, chunk_elements, entropy=False)[0]


def selective_log_softmax_and_entropy(logits_BTV: torch.Tensor, index_BT: torch.Tensor, temperature: float = 1.0,
                                      chunk_elements: int = CHUNK_ELEMENTS, entropy: bool = True
                                      ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(log-probs of ``index``, entropy) of softmax(logits / temperature), both (B, T) float32,
    from one pass over row chunks (entropy ``None`` when ``entropy=False``). The only place
    full-vocabulary float32 rows are built, so memory stays at one chunk whatever B and T."""
    B, T, _ = logits_BTV.shape
    index_N = index_BT.reshape(B * T)
    logps, ents = [], []
    for start, chunk_nV in _float_row_chunks(logits_BTV, temperature, chunk_elements):
        lse_n = torch.logsumexp(chunk_nV, dim=-1)
        picked_n = chunk_nV.gather(-1, index_N[start:start + chunk_nV.shape[0], None]).squeeze(-1)
        logps.append(picked_n - lse_n)
        if entropy:
            logp_nV = chunk_nV - lse_n[:, None]
            ents.append(-(logp_nV.exp() * logp_nV).sum(-1))
    if not logps:
        empty = logits_BTV.new_zeros((B, T), dtype=torch.float32)
        return empty, (empty.clone() if entropy else None)
    return torch.cat(logps).reshape(B, T), (torch.cat(ents).reshape(B, T) if entropy else None)


def naive_log_softmax(logits_BTV: torch.Tensor, index_BT: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Reference for ``selective_log_softmax``: the full log_softmax, then gather."""
    logp_BTV = torch.log_softmax(logits_BTV.float() / temperature, dim=-1)
    return logp_BTV.gather(-1, index_BT[..., None]).squeeze(-1)


def token_logprobs(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                   completion_mask: torch.Tensor | None = None, temperature: float = 1.0,
                   chunk_elements: int = CHUNK_ELEMENTS) -> torch.Tensor:
    """(B, T - 1) float32 log-probs of the actual next tokens under ``model``.

    ``completion_mask`` (B, T - 1), 1 where the log-prob is needed: only the logits from its
    first non-zero column on are computed (``logits_to_keep``: prompt positions never reach
    the vocabulary projection, which dominates memory for large vocabularies) and columns
    outside the mask are 0. ``temperature`` divides the logits, as when sampling.
    """
    B, T = input_ids.shape
    start = 0
    if completion_mask is not None:
        cols = completion_mask.any(dim=0).nonzero()
        if cols.numel() == 0:
            return torch.zeros((B, T - 1), dtype=torch.float32, device=input_ids.device)
        start = int(cols[0])
    out = model(input_ids=input_ids, attention_mask=attention_mask,
                position_ids=position_ids_from_mask(attention_mask), logits_to_keep=T - start, use_cache=False)
    logits_BKV = out.logits[:, :-1]  # (B, T - 1 - start, V): logits[t] predicts token t + 1
    logp_BK = selective_log_softmax(logits_BKV, input_ids[:, start + 1:], temperature, chunk_elements)
    logp_BT = torch.nn.functional.pad(logp_BK, (start, 0))  # (B, T - 1)
    if completion_mask is not None:
        logp_BT = logp_BT * completion_mask.to(logp_BT.dtype)
    return logp_BT


def critic_values(critic: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """(B, T) float32 values V(s_t) of every prefix (see the module docstring for alignment)."""
    return critic(input_ids, attention_mask)
