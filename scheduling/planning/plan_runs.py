"""Plans made in the background, with their progress in the database.

The console and the API used to solve inside the request: 10-20 s of a frozen page, and on
SQLite the single write lock held all that time. Now a request only writes a `PlanRun` row
(`start_run`) and hands it to a thread of its own process (`run_in_background`); the thread
claims the row, reads in one short transaction, solves with no transaction open, and stores
the plans in another. While it solves, a reporter thread writes the running stage, the share
done, HiGHS's gap and best value and a heartbeat to the row about once a second, so whichever
web worker a browser's poll lands on reads the same progress.

Two managers starting the same date range at once: the row's `active_key` (the range) is
unique while the run is queued or running, so the second insert fails in the database and the
second manager is shown the first one's run: one solve, never two. A run whose heartbeat stops
(its process was restarted mid-solve) is reported as failed once `STALE_AFTER` has passed,
which also frees its range for a new start.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction, utcnow
from inventory.errors import DomainError
from scheduling.planner.model import SolverSnapshot
from scheduling.planning.capacity import get_profile, main_profile
from scheduling.planning.models import PlanRun, PlanRunStatus
from scheduling.planning.plans import (
    PlanRequest,
    Prepared,
    Solved,
    check_request,
    prepare,
    solve_prepared,
    store_plan,
)

log = logging.getLogger("gaogan.planning.runs")

# No heartbeat for this long: the process solving the run is gone. The reporter writes one
# every REPORT_SECONDS whatever the solver does, so a minute is many missed beats.
STALE_AFTER = timedelta(seconds=60)
REPORT_SECONDS = 1.0

# Where each step of one profile's plan sits in the run's progress bar (0..1): the solver's
# stages share the middle in proportion to how many of them have started.
_PREPARE, _BOUND, _SOLVE_FROM, _SOLVE_TO, _SAVING = 0.0, 0.04, 0.08, 0.92, 0.95


class PlanRunNotFound(DomainError):
    code = "plan_run_not_found"
    status = 404


class PlanRunActive(DomainError):
    """Another run for the same date range is queued or running (the API's 409)."""

    code = "plan_run_active"
    status = 409


def range_key(start: date, end: date) -> str:
    return f"{start.isoformat()}/{end.isoformat()}"


@dataclass(frozen=True)
class Started:
    run: PlanRun
    created: bool  # False: a run for the same range was already under way; this is it


def start_run(
    session: Session,
    request: PlanRequest,
    profile_ids: Sequence[int] = (),
    *,
    with_baselines: bool = True,
    compare: bool = False,
    requested_by: int | None = None,
    now: datetime | None = None,
) -> Started:
    """Queue a plan of `request` on each profile (the live one if none is named), or find the
    run already under way for the same date range. Bad requests are refused here, before any
    work is queued."""
    now = now or utcnow()
    check_request(request)
    ids = [get_profile(session, pid).id for pid in profile_ids] or [main_profile(session).id]
    reap_lost(session, now=now)
    key = range_key(request.start, request.end)
    stored = {
        "growth_pct": request.growth_pct,
        "limit_materials": request.limit_materials,
        "time_limit": request.time_limit,
        "mip_rel_gap": request.mip_rel_gap,
    }
    run = PlanRun(
        status=PlanRunStatus.QUEUED,
        active_key=key,
        start=request.start,
        end=request.end,
        request={
            **stored,
            "profile_ids": ids,
            "with_baselines": with_baselines,
            "compare": compare,
        },
        requested_by=requested_by,
        profile_count=len(ids),
        created_at=now,
        heartbeat_at=now,
    )
    try:
        # The savepoint keeps the caller's transaction usable when the guard refuses.
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(PlanRun).where(PlanRun.active_key == key))
        if existing is None:  # it finished between our insert and this read: nothing runs now
            raise PlanRunActive(
                "a plan for these dates was being made; try again",
                key="msg.plan_run.active",
                start=request.start.isoformat(),
                end=request.end.isoformat(),
            ) from None
        return Started(existing, created=False)
    return Started(run, created=True)


def get_run(session: Session, run_id: int, *, now: datetime | None = None) -> PlanRun:
    """The run, after declaring it lost if its heartbeat stopped."""
    reap_lost(session, now=now or utcnow())
    run = session.get(PlanRun, run_id)
    if run is None:
        raise PlanRunNotFound(f"no plan run {run_id}", key="msg.plan_run.not_found", run_id=run_id)
    return run


def reap_lost(session: Session, *, now: datetime) -> int:
    """Fail every queued or running run whose heartbeat stopped; frees their ranges."""
    result = session.execute(
        update(PlanRun)
        .where(PlanRun.active_key.is_not(None), PlanRun.heartbeat_at < now - STALE_AFTER)
        .values(
            status=PlanRunStatus.FAILED,
            active_key=None,
            finished_at=now,
            error_key="msg.plan_run.lost",
            error_params={},
            error="the process making this plan stopped before it finished; start it again",
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim(session: Session, run_id: int, *, worker: str, now: datetime) -> bool:
    """Take a queued run for this process; False if another took it (or it is not queued)."""
    result = session.execute(
        update(PlanRun)
        .where(PlanRun.id == run_id, PlanRun.status == PlanRunStatus.QUEUED)
        .values(
            status=PlanRunStatus.RUNNING,
            stage="prepare",
            started_at=now,
            heartbeat_at=now,
            worker=worker[:80],
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


class _Board:
    """The run's progress as the solver thread tells it; the reporter reads it. Thread-safe."""

    def __init__(self, profile_count: int) -> None:
        self._lock = threading.Lock()
        self.count = max(1, profile_count)
        self.index = 0
        self.stage = "prepare"
        self.within = _PREPARE
        self.gap: float | None = None
        self.value: float | None = None

    def profile(self, index: int) -> None:
        with self._lock:
            self.index = index

    def progress(self, stage: str, fraction: float) -> None:
        """The planner's Progress callback (stage starts), plus this module's own steps."""
        within = {
            "prepare": _PREPARE,
            "greedy": _SOLVE_FROM,
            "done": _SOLVE_TO,
            "bound": _BOUND,
            "saving": _SAVING,
        }.get(stage, _SOLVE_FROM + (_SOLVE_TO - _SOLVE_FROM) * fraction)
        with self._lock:
            if stage != "done":  # "done" is the solver's; the run goes on to bound/saving
                self.stage = stage
            self.within = within
            self.gap = self.value = None

    def watch(self, snapshot: SolverSnapshot) -> None:
        with self._lock:
            if snapshot.stage == self.stage:
                self.gap, self.value = snapshot.gap, snapshot.value

    def values(self) -> dict[str, Any]:
        with self._lock:
            return {
                "stage": self.stage,
                "fraction": round(min(1.0, (self.index + self.within) / self.count), 4),
                "profile_index": self.index,
                "gap": self.gap,
                "best_value": self.value,
            }


class _Reporter(threading.Thread):
    """Writes the board and a heartbeat to the run's row every REPORT_SECONDS."""

    def __init__(
        self, sessions: sessionmaker[Session], run_id: int, board: _Board, every: float
    ) -> None:
        super().__init__(name=f"plan-run-{run_id}-report", daemon=True)
        self.sessions, self.run_id, self.board, self.every = sessions, run_id, board, every
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(self.every):
            self.write()

    def write(self) -> None:
        try:
            with transaction(self.sessions) as session:
                session.execute(
                    update(PlanRun)
                    .where(PlanRun.id == self.run_id, PlanRun.status == PlanRunStatus.RUNNING)
                    .values(**self.board.values(), heartbeat_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
        except Exception:  # a missed progress write must not fail the plan
            log.warning("could not write the progress of plan run %s", self.run_id, exc_info=True)

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=30)


def _plain(details: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, int | str | float | bool) or v is None else str(v)
        for k, v in details.items()
    }


def _finish(sessions: sessionmaker[Session], run_id: int, **values: Any) -> None:
    with transaction(sessions) as session:
        session.execute(
            update(PlanRun)
            .where(PlanRun.id == run_id)
            .values(active_key=None, finished_at=utcnow(), heartbeat_at=utcnow(), **values)
            .execution_options(synchronize_session=False)
        )


def request_of(run: PlanRun) -> tuple[PlanRequest, list[int], bool]:
    """The stored request back as a PlanRequest, the profiles to plan, whether baselines."""
    stored: dict[str, Any] = dict(run.request)
    request = PlanRequest(
        start=run.start,
        end=run.end,
        growth_pct=int(stored.get("growth_pct", 100)),
        limit_materials=bool(stored.get("limit_materials", True)),
        time_limit=float(stored.get("time_limit", 10.0)),
        mip_rel_gap=float(stored.get("mip_rel_gap", 1e-4)),
    )
    profile_ids = [int(p) for p in stored.get("profile_ids", [])]
    return request, profile_ids, bool(stored.get("with_baselines", True))


def execute_run(
    sessions: sessionmaker[Session],
    run_id: int,
    *,
    harvest_month: int = 10,
    worker: str | None = None,
    report_every: float = REPORT_SECONDS,
) -> bool:
    """Make the run's plans if this process can claim it; True when it was claimed here.

    All plans of a run are stored in one transaction at the end: a comparison of three
    profiles is either all there or not at all."""
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    with transaction(sessions) as session:
        if not claim(session, run_id, worker=worker, now=utcnow()):
            return False
        run = session.get(PlanRun, run_id)
        assert run is not None
        request, profile_ids, with_baselines = request_of(run)
    board = _Board(len(profile_ids))
    reporter = _Reporter(sessions, run_id, board, report_every)
    reporter.start()
    try:
        made: list[tuple[PlanRequest, Prepared, Solved]] = []
        for index, profile_id in enumerate(profile_ids):
            board.profile(index)
            board.progress("prepare", 0.0)
            one = replace(request, profile_id=profile_id)
            started = time.monotonic()
            with transaction(sessions) as session:
                prepared = prepare(session, one, harvest_month=harvest_month)
            solved = solve_prepared(
                prepared,
                one,
                progress=board.progress,
                watch=board.watch,
                with_baselines=with_baselines,
                read_seconds=time.monotonic() - started,
            )
            made.append((one, prepared, solved))
        board.progress("saving", 1.0)
        with transaction(sessions) as session:
            plan_ids = [store_plan(session, *args).id for args in made]
    except DomainError as exc:
        reporter.stop()
        _finish(
            sessions,
            run_id,
            status=PlanRunStatus.FAILED,
            error_key=exc.key or f"error.{exc.code}",
            error_params=_plain(exc.details),
            error=exc.message,
        )
        return True
    except Exception as exc:
        reporter.stop()
        log.exception("plan run %s failed", run_id)
        _finish(
            sessions,
            run_id,
            status=PlanRunStatus.FAILED,
            error_key="msg.plan_run.failed",
            error_params={},
            error=f"the planner failed ({type(exc).__name__}); it has been logged",
        )
        return True
    reporter.stop()
    _finish(
        sessions,
        run_id,
        status=PlanRunStatus.DONE,
        stage="done",
        fraction=1.0,
        plan_ids=plan_ids,
        gap=None,
        best_value=None,
    )
    return True


# --- threads of this process ---------------------------------------------------------------

_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


def run_in_background(
    sessions: sessionmaker[Session], run_id: int, *, harvest_month: int = 10
) -> threading.Thread:
    """Solve the run in a thread of this process (HiGHS releases the GIL while it works, so
    the process keeps answering requests). Not a daemon: a worker told to stop finishes the
    solve within its graceful timeout, and one killed harder is caught by `reap_lost`."""

    def work() -> None:
        try:
            execute_run(sessions, run_id, harvest_month=harvest_month)
        except Exception:  # never let a thread die silently
            log.exception("plan run %s: the background thread failed", run_id)
        finally:
            with _threads_lock:
                _threads.discard(threading.current_thread())

    thread = threading.Thread(target=work, name=f"plan-run-{run_id}", daemon=False)
    with _threads_lock:
        _threads.add(thread)
    thread.start()
    return thread


def wait_for_background(timeout: float = 120.0) -> bool:
    """Wait for this process's background runs to end (tests, shutdown); True if all did."""
    with _threads_lock:
        running = list(_threads)
    for thread in running:
        thread.join(timeout)
    return not any(t.is_alive() for t in running)
