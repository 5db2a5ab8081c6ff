"""Dashboards as code: the project's W&B workspace and report, built with wandb-workspaces.

``bstdg-dashboard --entity E --project P`` (also ``python -m bstdg.dashboard``) saves both;
``--dry-run`` builds them and lists their panels without touching the network. Python:
``bstdg.dashboard.build.build_workspace(entity, project)`` and ``build_report(...)``
(needs ``pip install -e '.[dashboard]'``). Metric and config names: ``bstdg.dashboard.keys``.
"""

from bstdg.dashboard.cli import main

__all__ = ["main"]
