"""Run plumbing shared by SFT and PPO, knowing nothing of the method: checkpoints and resume
(``checkpoint``), the metrics files (``metrics_logger``), seeds derived from a step
(``seeding``), timed phases (``timing``), the processes of a data-parallel run
(``distributed``) and the libraries' progress bars (``progress``).

Nothing here imports the trainer: a run's plumbing can be read and tested without PPO.
"""
