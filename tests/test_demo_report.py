"""The demo's one-page summary: the figures it was given, linked reports, present plots only."""

from __future__ import annotations

from stepcoder.trainer.demo import write_demo_report


def test_demo_report_holds_the_figures_and_only_existing_plots(tmp_path):
    (tmp_path / "ppo" / "plots").mkdir(parents=True)
    (tmp_path / "ppo" / "plots" / "reward_pass.png").write_bytes(b"\x89PNG")
    figures = {"start": 0.0, "before": 0.25, "after": 0.3125}
    text = write_demo_report(tmp_path, figures, {"SFT warm start": 151.4}, num_heldout=7).read_text()
    assert "held-out pass@1: 0.250 -> 0.312" in text
    assert "| after SFT (BEFORE) | 0.250 | [eval-sft/report.md](eval-sft/report.md) |" in text
    assert "| SFT warm start | 151 |" in text
    assert "on 7 problems" in text
    assert "ppo/plots/reward_pass.png" in text
    assert "curriculum.png" not in text  # absent plots are not linked
