"""A background plan run worded for people: the progress page and the JSON its script (and
an API client) polls show the same texts, in the request's language."""

from __future__ import annotations

from typing import Any

from flask import url_for

from inventory.errors import DomainError
from shop.i18n import translate
from shop.messages import localise
from shop.planning.services import RunView


def stage_label(stage: str) -> str:
    return translate(f"plan.run.stage.{stage}")


def failure_message(view: RunView) -> str | None:
    """Why the run failed, worded like any other refusal (key, then its code's text)."""
    if view.status != "failed":
        return None
    return localise(DomainError(view.error or "failed", key=view.error_key, **view.error_params))


def next_url(view: RunView) -> str | None:
    """The page a finished run leads to: its plan, or the comparison of its plans."""
    if view.status != "done" or not view.plan_ids:
        return None
    if len(view.plan_ids) == 1:
        return url_for("plan.show_plan", plan_id=view.plan_ids[0])
    return url_for("plan.compare_plans", ids=",".join(map(str, view.plan_ids)))


def run_document(view: RunView) -> dict[str, Any]:
    """The run's state: stable codes for programs, labels for people."""
    unmet_stage = view.stage.startswith("unmet_")
    document: dict[str, Any] = {
        "id": view.id,
        "status": view.status,
        "start": view.start.isoformat(),
        "end": view.end.isoformat(),
        "stage": view.stage,
        "stage_label": stage_label(view.stage),
        "fraction": view.fraction,
        "percent": round(view.fraction * 100),
        "profile_index": view.profile_index,
        "profile_count": view.profile_count,
        "gap": view.gap,
        "best_value": view.best_value,
        "elapsed_seconds": view.elapsed_seconds,
        "time_limit": view.time_limit,
        "plan_ids": view.plan_ids,
        "status_url": url_for("planning.runs_get", run_id=view.id),
        "page_url": url_for("plan.show_run", run_id=view.id),
        "next_url": next_url(view),
        "labels": {
            "status": translate(f"plan.run.status.{view.status}"),
            "stage": stage_label(view.stage),
            "elapsed": translate(
                "plan.run.elapsed",
                seconds=f"{view.elapsed_seconds:.0f}",
                limit=f"{view.time_limit:.0f}",
            ),
            "profile": (
                translate(
                    "plan.run.profile", index=view.profile_index + 1, count=view.profile_count
                )
                if view.profile_count > 1
                else ""
            ),
            "gap": (
                translate("plan.run.gap", gap=f"{view.gap * 100:.1f}")
                if view.gap is not None and not view.finished
                else ""
            ),
            "best": (
                translate("plan.run.best_unmet", value=f"{view.best_value:,.0f}")
                if unmet_stage and view.best_value is not None and not view.finished
                else ""
            ),
        },
    }
    if view.status == "failed":
        document["error"] = view.error_key or "failed"
        document["message"] = failure_message(view)
    if view.comparison is not None:
        document["comparison"] = view.comparison
    return document
