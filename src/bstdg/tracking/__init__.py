"""Experiment tracking with Weights & Biases: run names and groups, the logged config,
metric axes and summaries, checkpoint artifacts, media, and a reader of offline runs.

Lightning and W&B code lives here (never in ``bstdg.snn``); everything is skipped when W&B
is not among the run's loggers.
"""
