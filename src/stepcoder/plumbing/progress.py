"""The libraries' own progress bars (transformers' "Loading weights" and "Writing model
shards", the hub's downloads) follow the run's progress setting: a run asked to be quiet
(``--training.progress_bar false``, ``eval --no-progress``) is quiet all the way down."""

from __future__ import annotations


def library_progress_bars(enabled: bool) -> None:
    """Show (``enabled``) or hide the progress bars transformers and huggingface_hub draw."""
    from transformers.utils import logging as hf_logging  # lazy: transformers stays out of --help

    if enabled:
        hf_logging.enable_progress_bar()
    else:
        hf_logging.disable_progress_bar()  # the hub's bars too
