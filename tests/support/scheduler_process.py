"""Run the real `gaogan scheduler` command with the test day's jobs registered.

Used by the multi-process tests (with PYTHONPATH at the worktree root):
`python tests/support/scheduler_process.py scheduler --clock-file F`.
"""

from __future__ import annotations

import sys

from scheduling.scheduler.jobs import registry
from shop.cli import cli
from tests.support.scheduler_helpers import day_jobs

if __name__ == "__main__":
    day_jobs(registry)
    cli.main(args=sys.argv[1:], prog_name="gaogan")
