"""stepcoder: reinforcement learning from execution feedback for code language models.

Implements StepCoder (Dou et al., ACL 2024): PPO rewarded by unit-test execution, with
CCCS (a curriculum of code completion subtasks) and FGO (fine-grained optimisation that
masks unexecuted code out of the policy loss).
"""

__version__ = "0.1.0"
