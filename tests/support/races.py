"""Real concurrent clients for the PostgreSQL race tests: threads released together."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker


def race(
    factory: sessionmaker[Session],
    jobs: list[Callable[[Session], object]],
    *,
    join_timeout: float = 120,
) -> list[object]:
    """Run each job in its own thread and transaction; all start together at a barrier.

    Each thread connects before the barrier, so the race is over the rows, not the pool.
    Returns per job the value or the exception it raised.
    """
    barrier = threading.Barrier(len(jobs), timeout=30)
    outcomes: list[object] = [None] * len(jobs)

    def run(index: int, job: Callable[[Session], object]) -> None:
        session = factory()
        try:
            session.connection()  # check out (and open) the connection now
            session.rollback()
            barrier.wait()
            with session.begin():
                outcomes[index] = job(session)
        except Exception as exc:  # every outcome is asserted by the test
            outcomes[index] = exc
        finally:
            session.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=join_timeout)
    assert not any(thread.is_alive() for thread in threads), "a client hung"
    return outcomes
