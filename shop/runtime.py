"""The running app's wired-up runtime, for views: a leaf module that imports no view.

Views reach the database only through the area's services. A use case that changes something
is a function `use_case(session, ...)` in the area's services module; a view runs it with
`run(use_case, ...)`, which gives it one transaction (commit on success, roll back on any
exception). A read that a page renders from is `read(query, ...)`: a session without a
transaction of its own, closed before the page is rendered, so a query hands back plain
values or fully loaded rows. The factory module (`shop.app`) is imported by nobody but the
WSGI and CLI entry points.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Concatenate, ParamSpec, TypeVar

from flask import Flask, current_app
from sqlalchemy.orm import Session

from inventory.db import transaction
from inventory.runtime import Runtime
from scheduling.scheduler.clock import clock_for

P = ParamSpec("P")
T = TypeVar("T")

EXTENSION = "gaogan"


def install_runtime(app: Flask, runtime: Runtime) -> None:
    app.extensions[EXTENSION] = runtime


def get_runtime(app: Flask) -> Runtime:
    runtime: Runtime = app.extensions[EXTENSION]
    return runtime


def current_runtime() -> Runtime:
    """The runtime of the app handling the current request (or app context)."""
    return get_runtime(current_app)


def clock_now() -> datetime:
    """The time the order desk stamps: the rehearsal clock (GAOGAN_CLOCK_FILE) when one is
    set, the one `gaogan orders advance` and the scheduler read, so a rehearsed day can be run
    at the desk without the CLI; else the wall clock."""
    return clock_for(current_runtime().settings).now()


def run(use_case: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one use case in one transaction of its own and return what it returns."""
    with transaction(current_runtime().sessions) as session:
        return use_case(session, *args, **kwargs)


def read(query: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one read-only query in a short session and return its (loaded) result."""
    with current_runtime().sessions() as session:
        return query(session, *args, **kwargs)
