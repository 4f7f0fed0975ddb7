"""Training: SFT warm start and StepCoder PPO (CCCS + FGO), checkpoints, metrics logging.

Heavy modules (torch, transformers) load only when a trainer runs; ``TrainConfig`` imports
light so that the command line can be generated from it.
"""
