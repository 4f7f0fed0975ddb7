"""Supervised fine-tuning on canonical solutions: the paper's SFT baseline and the tiny
default's warm start. Prompt tokens are masked out of the loss; the target is the program as
PPO's prompt format expects it with an empty prefix (see examples.py)."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import torch

from stepcoder.config import save_yaml
from stepcoder.models import load_policy, load_tokenizer
from stepcoder.models.forward import token_logprobs
from stepcoder.models.load import is_peft
from stepcoder.plumbing.distributed import make_accelerator, shard, unwrap
from stepcoder.plumbing.metrics_logger import MetricsLogger
from stepcoder.plumbing.seeding import derived_seed, seed_everything, torch_generator
from stepcoder.prompts import save_prompt_config
from stepcoder.rl import masked_mean
from stepcoder.trainer.accumulation import TokenWeights, accumulate, clip_and_step
from stepcoder.trainer.config import TrainConfig
from stepcoder.trainer.examples import SFTExample, sft_examples
from stepcoder.trainer.packing import pack
from stepcoder.trainer.problems import load_sft_problems
from stepcoder.trainer.schedule import make_scheduler

logger = logging.getLogger(__name__)


def sft_batches(examples: list[SFTExample], batch_size: int, epochs: float, seed: int):
    """Yield batches of examples: a fresh seeded shuffle per epoch, ``ceil(epochs * N / batch)``
    batches in all (the last epoch may be partial); incomplete batches are dropped."""
    per_epoch = len(examples) // batch_size
    total = max(1, math.ceil(epochs * len(examples) / batch_size))
    if per_epoch == 0:
        raise ValueError(f"{len(examples)} SFT examples cannot fill one batch of {batch_size}")
    done, epoch = 0, 0
    while done < total:
        order = torch.randperm(len(examples), generator=torch_generator(derived_seed(seed, epoch, "shuffle"))).tolist()
        for b in range(min(per_epoch, total - done)):
            yield [examples[i] for i in order[b * batch_size : (b + 1) * batch_size]]
            done += 1
        epoch += 1


def sft_loss(model, batch: list[SFTExample], pad_id: int, device) -> tuple[torch.Tensor, int]:
    """Token-mean negative log-likelihood of the target tokens; also returns their count."""
    packed = pack([e.prompt_ids for e in batch], [e.target_ids for e in batch], pad_id)
    mask = packed.action_mask.to(device)
    logp = token_logprobs(model, packed.input_ids.to(device), packed.attention_mask.to(device), completion_mask=mask)
    return -masked_mean(logp, mask), int(mask.sum())


def run_sft(cfg: TrainConfig, output_dir: str | Path, accelerator=None) -> dict[str, float]:
    """Train ``cfg.model`` on the canonical solutions of ``cfg.data.train_path``; save an HF
    folder (weights + tokenizer, LoRA merged) at ``output_dir``. Returns the final metrics."""
    out = Path(output_dir)
    accelerator = accelerator or make_accelerator(cfg.training.cpu, cfg.training.mixed_precision)
    seed_everything(cfg.training.seed)
    with accelerator.main_process_first():  # one process builds a cached model (e.g. "tiny")
        tokenizer = load_tokenizer(cfg.model)
    examples = sft_examples(load_sft_problems(cfg.data), tokenizer, cfg.prompt, cfg.sft.max_length)
    examples = shard(examples[: len(examples) - len(examples) % accelerator.num_processes],
                     accelerator.process_index, accelerator.num_processes)
    model = load_policy(cfg.model)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.sft.lr,
                                  weight_decay=cfg.sft.weight_decay)
    total = max(1, math.ceil(cfg.sft.epochs * len(examples) / cfg.sft.batch_size))
    scheduler = make_scheduler(optimizer, total, int(cfg.sft.warmup_ratio * total), cfg.sft.scheduler)
    model, optimizer = accelerator.prepare(model, optimizer)
    model.train()
    if accelerator.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        save_yaml(cfg, out / "sft_config.yaml")
    # resume_step=0 empties the metrics of an earlier SFT into the same folder: SFT always restarts
    metrics_log = MetricsLogger(out, tensorboard=cfg.training.tensorboard, resume_step=0) if accelerator.is_main_process else None
    metrics: dict[str, float] = {}
    try:
        for step, batch in enumerate(sft_batches(examples, cfg.sft.batch_size, cfg.sft.epochs, cfg.training.seed), 1):
            metrics = _sft_step(model, optimizer, batch, cfg, tokenizer.pad_token_id, accelerator)
            scheduler.step()
            metrics.update({"step": step, "lr": scheduler.get_last_lr()[0], "epoch": step * cfg.sft.batch_size / len(examples)})
            if metrics_log and (step % cfg.sft.log_every == 0 or step == total):
                metrics_log.log(step, metrics)
                logger.info("sft step %d/%d loss %.4f", step, total, metrics["loss"])
    finally:
        if metrics_log:
            metrics_log.close()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        save_pretrained(unwrap(model, accelerator), tokenizer, out, cfg.prompt)
    return metrics


def sft_gradients(model, batch: list[SFTExample], grad_accum: int, pad_id: int, accelerator=None) -> float:
    """Accumulate the gradient of the token-mean NLL over the target tokens of every process's
    ``batch``, in ``grad_accum`` micro-batches (``accumulation.accumulate``, as the PPO
    update); returns this process's share of that loss (the loss itself on one process)."""
    device = accelerator.device if accelerator is not None else next(model.parameters()).device
    size = -(-len(batch) // grad_accum)
    parts = [batch[i : i + size] for i in range(0, len(batch), size)]
    weights = TokenWeights([sum(len(e.target_ids) for e in batch)], accelerator)
    loss_sum = 0.0

    def weighted_loss(part: list[SFTExample]) -> torch.Tensor:
        nonlocal loss_sum
        loss, tokens = sft_loss(model, part, pad_id, device)
        weight = weights.weight(tokens)
        loss_sum += float(loss.detach()) * weight
        return loss * weight

    accumulate(model, parts, weighted_loss, accelerator)
    return loss_sum


def _sft_step(model, optimizer, batch, cfg: TrainConfig, pad_id: int, accelerator) -> dict[str, float]:
    start = time.perf_counter()
    loss = sft_gradients(model, batch, cfg.sft.grad_accum, pad_id, accelerator)
    norm = clip_and_step(model, optimizer, cfg.sft.max_grad_norm, accelerator)
    seconds = time.perf_counter() - start
    tokens = sum(len(e.target_ids) for e in batch)
    return {"loss": loss, "grad_norm": norm, "perf/tokens_per_s": tokens / seconds, "time/step": seconds}


def save_pretrained(model, tokenizer, out: Path, prompt_cfg=None) -> None:
    """An ordinary HF folder usable as ``model.name_or_path``: LoRA adapters are merged; the
    prompt settings it was trained with go beside the weights (``stepcoder.prompts.carried``)."""
    if is_peft(model):
        model = model.merge_and_unload()
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    if prompt_cfg is not None:
        save_prompt_config(prompt_cfg, out)
