"""Shared pieces of the scheduler tests: test jobs whose effect is one outbox row each."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.events import publish
from inventory.models import OutboxEvent
from scheduling.scheduler.jobs import JobContext, JobRegistry

SHANGHAI = ZoneInfo("Asia/Shanghai")
EFFECT = "test.effect"


def at(day: date, hhmm: str) -> datetime:
    hours, minutes = hhmm.split(":")
    return datetime.combine(day, time(int(hours), int(minutes)), SHANGHAI)


def effect(ctx: JobContext) -> str:
    publish(
        ctx.session,
        EFFECT,
        {"job": ctx.name, "scheduled_for": ctx.scheduled_for.isoformat()},
        key=f"test:{ctx.name}",
    )
    return "one row"


def day_jobs(jobs: JobRegistry) -> JobRegistry:
    """The rhythm of a production day, as test jobs that each insert one row."""
    jobs.register("test.batch_start", effect, {"trigger": "cron", "hour": 4, "minute": 0})
    jobs.register("test.first_out", effect, {"trigger": "cron", "hour": 6, "minute": 0})
    jobs.register("test.cutoff", effect, {"trigger": "cron", "hour": 20, "minute": 0})
    jobs.register("test.every_two_hours", effect, {"trigger": "cron", "hour": "*/2"})
    return jobs


def effects(sessions: sessionmaker[Session]) -> dict[tuple[str, str], int]:
    """(job, scheduled_for) -> how many times its effect happened."""
    counts: dict[tuple[str, str], int] = {}
    with sessions() as session:
        for payload in session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.type == EFFECT)
        ):
            key = (str(payload["job"]), str(payload["scheduled_for"]))
            counts[key] = counts.get(key, 0) + 1
    return counts


def effect_count(sessions: sessionmaker[Session], job: str) -> int:
    with sessions() as session:
        rows = session.scalars(select(OutboxEvent.payload).where(OutboxEvent.type == EFFECT))
        return sum(1 for p in rows if p["job"] == job)


def outbox_count(sessions: sessionmaker[Session], event_type: str) -> int:
    with sessions() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == event_type)
            )
            or 0
        )
