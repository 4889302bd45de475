"""The real `gaogan scheduler` with one slow cron job, for the graceful-shutdown test.

The job fires every SLOW_JOB_EVERY seconds (wall clock), writes SLOW_JOB_MARKER outside its
transaction when it starts (so the test knows a run is in flight), sleeps SLOW_JOB_SECONDS
and records its effect in the run's own transaction.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from scheduling.scheduler.jobs import JobContext, registry
from shop.cli import cli
from tests.support.scheduler_helpers import effect

SLOW_JOB = "test.slow"


def slow(ctx: JobContext) -> str:
    Path(os.environ["SLOW_JOB_MARKER"]).write_text(f"{os.getpid()} {ctx.scheduled_for.isoformat()}")
    time.sleep(float(os.environ.get("SLOW_JOB_SECONDS", "3")))
    return effect(ctx)


if __name__ == "__main__":
    every = os.environ.get("SLOW_JOB_EVERY", "6")
    registry.register(SLOW_JOB, slow, {"trigger": "cron", "second": f"*/{every}"})
    cli.main(args=sys.argv[1:], prog_name="gaogan")
