"""StepCoder PPO: the training loop (Dou et al., ACL 2024, §3).

One step reads top to bottom as named, timed phases (logged as ``time/<phase>``):
curriculum prefixes -> generate -> execute -> reward + FGO mask -> logprobs (old, reference,
values) -> advantages (KL penalty, GAE or group-relative, whitening) -> update (PPO epochs)
-> curriculum update. Each process samples and executes its share of the step's problems;
the prepared (DDP) models all-reduce gradients.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from pathlib import Path
from typing import Any

import torch

from stepcoder.config import save_yaml
from stepcoder.curriculum import Curriculum
from stepcoder.models import ReferencePolicy, load_critic, load_policy, load_tokenizer, resolve_model_path
from stepcoder.plumbing.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from stepcoder.plumbing.distributed import gather_objects, make_accelerator, shard, unwrap
from stepcoder.plumbing.metrics_logger import MetricsLogger
from stepcoder.plumbing.seeding import derived_seed, seed_everything, torch_generator
from stepcoder.plumbing.timing import PhaseTimer
from stepcoder.prompts import prompt_config_for, save_prompt_config
from stepcoder.sandbox import Sandbox
from stepcoder.trainer.advantages import with_advantages
from stepcoder.trainer.config import TrainConfig
from stepcoder.trainer.experience import execute, mixed_fraction, sample_rollouts, score, select_groups, to_batch
from stepcoder.trainer.forward import critic_forward, fill_forward_passes, policy_logprobs
from stepcoder.trainer.examples import sft_examples
from stepcoder.trainer.problems import load_sft_problems, load_train_problems
from stepcoder.trainer.schedule import make_scheduler
from stepcoder.trainer.sft import save_pretrained, sft_loss
from stepcoder.trainer.step_metrics import (
    curriculum_metrics,
    mean_over_processes,
    peak_rss_mb,
    pick_samples,
    rollout_metrics,
    rollout_record,
)
from stepcoder.trainer.update import Learner, UpdateSettings, run_update

logger = logging.getLogger(__name__)


def check_run_dir(run_dir: Path, resume: bool) -> None:
    """Refuse to start a fresh run over an earlier one (appending would corrupt both)."""
    if not resume and (Path(run_dir) / "metrics.jsonl").exists():
        raise FileExistsError(f"{run_dir} already holds a run (metrics.jsonl): pass --resume to continue it "
                              "or choose another --output-dir")


class PPOTrainer:
    """Owns the models, optimizers, curriculum and run directory of one PPO run."""

    def __init__(self, cfg: TrainConfig, accelerator=None):
        self.acc = accelerator or make_accelerator(cfg.training.cpu, cfg.training.mixed_precision)
        self.run_dir = Path(cfg.training.output_dir)
        seed_everything(derived_seed(cfg.training.seed, 0, "init"))
        self.problems = load_train_problems(cfg.data)
        self.curriculum = Curriculum(self.problems, cfg.curriculum)
        with self.acc.main_process_first():  # one process builds a cached model (e.g. "tiny")
            self.tokenizer = load_tokenizer(cfg.model)
            policy = load_policy(cfg.model)
            # a model trained here (or shipped: 'tiny-sft') carries its prompt settings: keep
            # them unless the config sets others
            cfg = dataclasses.replace(cfg, prompt=prompt_config_for(cfg.prompt, resolve_model_path(cfg.model.name_or_path)))
        self.cfg = cfg
        # the reference is the policy before RL: built before any checkpoint is loaded
        self.reference = ReferencePolicy(policy) if cfg.ppo.kl_beta > 0 else None
        critic = load_critic(cfg.model, policy) if cfg.ppo.advantage == "gae" else None
        self.policy = self._learner(policy, cfg.ppo.policy_lr, policy_logprobs(cfg.sampling.temperature))
        self.critic = None
        if critic is not None:
            # a critic on the policy's body trains only its head with the critic optimizer
            params = critic.head_parameters() if cfg.model.critic_shares_backbone else None
            self.critic = self._learner(critic, cfg.ppo.critic_lr, critic_forward, params)
        if self.reference is not None:
            self.reference.to(self.acc.device)
        # PPO-ptx: the demonstrations SFT learned from (ppo.ptx_coef > 0)
        self.demos = sft_examples(load_sft_problems(cfg.data), self.tokenizer, cfg.prompt, cfg.sft.max_length) \
            if cfg.ppo.ptx_coef > 0 else []
        self.start_step = 0

    def _learner(self, model, lr: float, forward, params=None) -> Learner:
        ppo = self.cfg.ppo
        params = params if params is not None else [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=ppo.weight_decay)
        # not prepared by accelerate: its scheduler wrapper steps once per process
        scheduler = make_scheduler(optimizer, self.cfg.training.steps, ppo.warmup_steps, ppo.scheduler)
        model, optimizer = self.acc.prepare(model, optimizer)
        return Learner(model, optimizer, scheduler, forward)

    # --- the run ------------------------------------------------------------------------

    def train(self, resume: bool = False) -> dict[str, float]:
        """Run (or continue) the PPO steps; returns the last step's metrics."""
        check_run_dir(self.run_dir, resume)
        self.acc.wait_for_everyone()  # every rank has checked before rank 0 creates metrics.jsonl
        if resume:
            self.resume()
        main = self.acc.is_main_process
        if main:
            save_yaml(self.cfg, self.run_dir / "config.yaml")
            save_prompt_config(self.cfg.prompt, self.run_dir)  # read by eval of a checkpoint
        log = MetricsLogger(self.run_dir, self.cfg.training.tensorboard, self.cfg.training.wandb_project,
                            resume_step=self.start_step if resume else None) if main else None
        metrics: dict[str, float] = {}
        bar = self._progress_bar()
        try:
            with Sandbox(self.cfg.sandbox) as sandbox:
                for step in range(self.start_step + 1, self.cfg.training.steps + 1):
                    metrics, samples = self.train_step(step, sandbox)
                    if log:
                        log.log(step, metrics)
                        log.log_samples(step, samples)
                    if bar:
                        bar.update(1)
                        bar.set_postfix(reward=f"{metrics['reward_mean']:.3f}", pass_rate=f"{metrics['pass_rate']:.3f}")
                    if self._should_save(step):
                        self.save(step)
        finally:
            if log:
                log.close()
            if bar:
                bar.close()
        self.export_policy(self.run_dir / "policy")
        return metrics

    def _progress_bar(self):
        if not (self.acc.is_main_process and self.cfg.training.progress_bar):
            return None
        from tqdm.auto import tqdm

        return tqdm(total=self.cfg.training.steps, initial=self.start_step, desc="ppo", unit="step")

    def _should_save(self, step: int) -> bool:
        every = self.cfg.training.save_every
        return step == self.cfg.training.steps or (every > 0 and step % every == 0)

    # --- one step -----------------------------------------------------------------------

    def train_step(self, step: int, sandbox) -> tuple[dict[str, float], list[dict[str, Any]]]:
        """One PPO step; returns (metrics of all processes, samples to log)."""
        cfg, timer = self.cfg, PhaseTimer()
        problems, keep = self.problems_for_step(step)
        with timer("generate"):
            rollouts = sample_rollouts(unwrap(self.policy.model, self.acc), self.tokenizer, problems, self.curriculum,
                                       cfg, seed=derived_seed(cfg.training.seed, step, "sample", self.acc.process_index))
        with timer("execute"):
            execute(sandbox, rollouts)
        with timer("reward"):
            score(rollouts, cfg)
            trained = select_groups(rollouts, keep)
            batch = to_batch(trained, self.tokenizer.pad_token_id).to(self.acc.device)
        with timer("logprobs"):
            batch, forward_metrics = fill_forward_passes(
                batch, self.policy.model, self.reference, self.critic.model if self.critic else None,
                cfg.sampling.temperature, cfg.ppo.minibatch_size // cfg.ppo.grad_accum, self.acc)
        with timer("advantages"):
            batch, advantage_metrics = with_advantages(batch, cfg.ppo)
        with timer("update"):
            update_metrics = run_update(batch, self._update_settings(), self.policy, self.critic,
                                        torch_generator(derived_seed(cfg.training.seed, step, "shuffle", self.acc.process_index)),
                                        self.acc, self._ptx_loss(step))
        with timer("curriculum"):
            # every sampled rollout is evidence for the curriculum and the metrics, trained on or not
            records = [r for part in gather_objects([rollout_record(r) for r in rollouts], self.acc) for r in part]
            advantage_metrics["groups/trained_mixed_frac"] = mixed_fraction(trained)
            for record in records:  # every process applies every update, in the same order
                self.curriculum.update(record["problem_id"], record["verdict"] == "PASS")
        return self._step_metrics(step, records, forward_metrics, advantage_metrics, update_metrics, timer), \
            pick_samples(records, step, cfg.sampling.n, cfg.training.samples_per_step)

    def problems_for_step(self, step: int) -> tuple[list, int]:
        """This process's share of the step's sampled problems (a draw that depends only on
        (seed, step)), and how many of them it trains on: its share of
        ``training.problems_per_step``; with ``ppo.oversample`` > 1 it samples that many
        times more (dynamic sampling, :func:`select_groups`)."""
        rng = random.Random(derived_seed(self.cfg.training.seed, step, "problems"))
        k, n = self.cfg.training.problems_per_step, len(self.problems)
        drawn = k * self.cfg.ppo.oversample
        picked = rng.sample(range(n), drawn) if drawn <= n else [rng.randrange(n) for _ in range(drawn)]
        rank, world = self.acc.process_index, self.acc.num_processes
        return shard([self.problems[i] for i in picked], rank, world), len(shard(list(range(k)), rank, world))

    def _ptx_loss(self, step: int):
        """The PPO-ptx loss of the step's updates: each call draws ``ppo.ptx_batch_size``
        demonstrations (a draw that depends only on seed, step and process) and returns their
        token-mean NLL under the policy; None without ``ppo.ptx_coef``."""
        if not self.demos:
            return None
        rng = random.Random(derived_seed(self.cfg.training.seed, step, "ptx", self.acc.process_index))
        size = min(self.cfg.ppo.ptx_batch_size, len(self.demos))

        def loss() -> torch.Tensor:
            batch = rng.sample(self.demos, size)
            return sft_loss(self.policy.model, batch, self.tokenizer.pad_token_id, self.acc.device)[0]

        return loss

    def _update_settings(self) -> UpdateSettings:
        ppo = self.cfg.ppo
        return UpdateSettings(epochs=ppo.ppo_epochs, minibatch_size=ppo.minibatch_size, grad_accum=ppo.grad_accum,
                              clip_range=ppo.clip_range, value_clip_range=ppo.value_clip_range,
                              max_grad_norm=ppo.max_grad_norm,
                              kl_loss_beta=ppo.kl_beta if ppo.advantage == "group" else 0.0,
                              critic_uses_fgo=ppo.update_critic_with_fgo, ptx_coef=ppo.ptx_coef)

    def _step_metrics(self, step, records, forward_metrics, advantage_metrics, update_metrics, timer) -> dict[str, float]:
        per_process = mean_over_processes(gather_objects({**forward_metrics, **advantage_metrics, **update_metrics}, self.acc))
        times = timer.metrics()
        times["time/step"] = round(sum(timer.seconds.values()), 4)
        max_stage = max((self.curriculum.num_stages(p) for p in self.problems), default=1) - 1
        metrics = {"step": step, **rollout_metrics(records), **curriculum_metrics(self.curriculum.summary(), max(max_stage, 0)),
                   **per_process, **times}
        metrics["perf/tokens_per_s"] = sum(r["tokens"] for r in records) / max(times["time/step"], 1e-9)
        metrics["perf/peak_rss_mb"] = peak_rss_mb()  # of the main process (the one that logs)
        metrics["lr/policy"] = self.policy.scheduler.get_last_lr()[0]
        if self.critic is not None:
            metrics["lr/critic"] = self.critic.scheduler.get_last_lr()[0]
        return metrics

    # --- state --------------------------------------------------------------------------

    def _state_objects(self) -> tuple[dict, dict, dict]:
        models = {"policy": unwrap(self.policy.model, self.acc)}
        optimizers = {"policy": self.policy.optimizer}
        schedulers = {"policy": self.policy.scheduler}
        if self.critic is not None:
            # the critic says what to store: head + LoRA adapter, or its whole body when fully
            # fine-tuned (Critic.checkpoint_state)
            models["critic"] = unwrap(self.critic.model, self.acc)
            optimizers["critic"] = self.critic.optimizer
            schedulers["critic"] = self.critic.scheduler
        return models, optimizers, schedulers

    def save(self, step: int) -> None:
        if self.acc.is_main_process:
            models, optimizers, schedulers = self._state_objects()
            save_checkpoint(self.run_dir, step, models=models, optimizers=optimizers, schedulers=schedulers,
                            state={"curriculum": self.curriculum.state_dict()}, keep_last=self.cfg.training.keep_last)
        self.acc.wait_for_everyone()

    def resume(self) -> None:
        """Continue from the newest checkpoint of the run directory (no checkpoint: start)."""
        path = latest_checkpoint(self.run_dir)
        if path is None:
            logger.warning("no checkpoint in %s: starting from step 0", self.run_dir)
            return
        models, optimizers, schedulers = self._state_objects()
        state = load_checkpoint(path, models=models, optimizers=optimizers, schedulers=schedulers)
        self.curriculum.load_state_dict(state["curriculum"])
        self.start_step = int(state["step"])
        logger.info("resumed from %s (step %d)", path, self.start_step)

    def export_policy(self, out: Path) -> None:
        """The trained policy as an HF folder (usable as ``model.name_or_path``)."""
        if self.acc.is_main_process:
            save_pretrained(unwrap(self.policy.model, self.acc), self.tokenizer, out, self.cfg.prompt)
        self.acc.wait_for_everyone()
