"""Reports of training runs and evaluations: ``report.md`` plus PNG plots."""

from __future__ import annotations

from stepcoder.report.compare import write_comparison
from stepcoder.report.eval_report import write_eval_report
from stepcoder.report.fgo_view import render_fgo_sample
from stepcoder.report.run_report import write_run_report

__all__ = ["render_fgo_sample", "write_comparison", "write_eval_report", "write_run_report"]
