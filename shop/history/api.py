"""Sales history in the manager JSON API: /api/v1/manager/history (managers only)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from inventory.db import utcnow
from inventory.rules import local_day
from shop.auth import current_user, require_role
from shop.history import services
from shop.i18n import translate
from shop.models import Role
from shop.refusals import bilingual_validation_errors
from shop.runtime import read, run

blp = Blueprint(
    "manager_history",
    __name__,
    url_prefix="/api/v1/manager/history",
    description="The forecast's sales history: sources, and CSV import of past seasons",
)
bilingual_validation_errors(blp)


class CsvSchema(Schema):
    csv = fields.String(required=True, validate=validate.Length(min=1, max=900_000))
    dry_run = fields.Boolean(load_default=False)


@blp.route("", methods=["GET"])
@require_role(Role.MANAGER)
def summary() -> Any:
    """Which history the forecast uses: per source and channel, its days and pieces."""
    return [
        {
            **asdict(s),
            "first_day": s.first_day.isoformat() if s.first_day else None,
            "last_day": s.last_day.isoformat() if s.last_day else None,
        }
        for s in read(services.summary)
    ]


@blp.route("/import", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(CsvSchema)
def import_csv(body: dict[str, Any]) -> Any:
    """Check a CSV (day,sku,channel,quantity) and import it; with dry_run only the check.
    A file with any bad row imports nothing and names every bad row."""
    today = local_day(utcnow())
    result = read(services.preview, body["csv"], today=today)
    errors = [
        {
            "row": e.row,
            "value": e.value,
            "message": translate(e.key),
            "message_zh": translate(e.key, "zh"),
            "message_en": translate(e.key, "en"),
        }
        for e in result.parsed.errors
    ]
    if errors:
        rows = ", ".join(str(e["row"]) for e in errors[:20])
        return {
            "error": "bad_rows",
            "message": translate("hist.err.refused", rows=rows),
            "details": {
                "rows": errors,
                "message_zh": translate("hist.err.refused", "zh", rows=rows),
                "message_en": translate("hist.err.refused", "en", rows=rows),
            },
        }, 422
    if body["dry_run"]:
        return {"rows": len(result.parsed.sales), "by_channel": result.by_channel}
    user = current_user()
    assert user is not None
    imported = run(services.import_csv, body["csv"], today=today, user_id=user.id)
    return {"rows": imported, "by_channel": result.by_channel}, 201
