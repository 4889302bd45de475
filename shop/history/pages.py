"""Sales history pages under /manager/history (managers only): what the forecast uses, and
the CSV import with a preview that names every bad row."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.rules import local_day
from shop.auth import current_user, require_role
from shop.history import services
from shop.i18n import translate
from shop.models import Role
from shop.refusals import Refused
from shop.runtime import read, run

bp = Blueprint("history", __name__, url_prefix="/manager/history")


def uploaded_text() -> str:
    """The CSV from the file field (first visit) or the hidden field (the confirm step)."""
    upload = request.files.get("file")
    raw = upload.read() if upload is not None and upload.filename else None
    if raw is None:
        return request.form.get("csv", "")
    try:
        text: str = raw.decode("utf-8")
        return text
    except UnicodeDecodeError as exc:
        raise Refused("hist.err.file", code="bad_file") from exc


@bp.get("/")
@require_role(Role.MANAGER)
def overview() -> ResponseReturnValue:
    return render_template("history/overview.html", summary=read(services.summary), preview=None)


@bp.post("/preview")
@require_role(Role.MANAGER)
def preview() -> ResponseReturnValue:
    try:
        text = uploaded_text()
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("history.overview"))
    result = read(services.preview, text, today=local_day(utcnow()))
    status = 200 if result.parsed.ok else 422
    page = render_template(
        "history/overview.html", summary=read(services.summary), preview=result, csv=text
    )
    return page, status


@bp.post("/import")
@require_role(Role.MANAGER)
def import_csv() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    try:
        rows = run(services.import_csv, uploaded_text(), today=local_day(utcnow()), user_id=user.id)
        flash(translate("hist.done", rows=rows), "ok")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("history.overview"))
