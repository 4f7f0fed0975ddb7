"""Which problems SFT and RL read (trainer/problems.py): the tiny default's demonstrations
are instances its RL problems do not share; elsewhere SFT reads ``data.sft_path`` or, empty,
the RL problems' file."""

from __future__ import annotations

import pytest

from stepcoder.data import tiny_dataset_path
from stepcoder.problems import load_problems, save_jsonl
from stepcoder.trainer.ppo_config import DataConfig
from stepcoder.trainer.problems import load_sft_problems, load_train_problems


def test_tiny_default_sft_reads_demonstrations_rl_reads_other_instances():
    data = DataConfig()
    sft, rl = load_sft_problems(data), load_train_problems(data)
    assert sft == load_problems(tiny_dataset_path("sft")) and rl == load_problems(tiny_dataset_path("train"))
    assert not {p.prompt for p in sft} & {p.prompt for p in rl}


def test_empty_sft_path_reads_the_rl_file_and_a_given_one_reads_itself(tmp_path):
    rl_file, sft_file = tmp_path / "rl.jsonl", tmp_path / "sft.jsonl"
    problems = load_problems(tiny_dataset_path("train"))
    save_jsonl(problems[:5], rl_file)
    save_jsonl(problems[5:8], sft_file)
    assert load_sft_problems(DataConfig(train_path=str(rl_file))) == problems[:5]
    assert load_sft_problems(DataConfig(train_path=str(rl_file), sft_path=str(sft_file))) == problems[5:8]
    assert load_sft_problems(DataConfig(train_path=str(rl_file), sft_path="tiny")) == load_problems(tiny_dataset_path("sft"))


def test_missing_sft_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="data.sft_path"):
        load_sft_problems(DataConfig(sft_path=str(tmp_path / "none.jsonl")))
