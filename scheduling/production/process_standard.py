"""The soak standard: how long to soak tomorrow's rice, learned from the makers' own records.

From 2004 the makers wrote down soak time, water temperature, air temperature and rice moisture
every day for four years and turned "feel" into a written standard per season. Here that
standard is a rule fitted to the records that turned out well:

    soak minutes = a + b * water °C + c * air °C + d * rice moisture %

by least squares, per season when the season has enough good records, otherwise over all
seasons; factors that never varied in the data (water is nearly always 45 °C) drop out of the
fit instead of making it singular. The manager sees the rule, the data behind it and its
typical error, and may override it per season.

The fitting is plain functions over plain values; the database part only loads and stores.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.events import publish
from inventory.rules import LOCAL_ZONE
from inventory.settings import Settings
from scheduling.production.models import SoakOverride, SoakRecord, SoakResult

SEASONS = ("spring", "summer", "autumn", "winter")
FACTORS = ("water_temp_c", "air_temp_c", "rice_moisture_pct")
# Fewer good records than this and a rule would fit noise: fall back to a wider pool.
MIN_RECORDS_FOR_FIT = 8
# A factor whose spread in the data is below this carries no information about its effect.
MIN_SPREAD = 1e-6
SOAK_LIMITS_MINUTES = (30, 24 * 60)


class InvalidSoakRecord(DomainError):
    code = "invalid_soak_record"


def season_of(day: date) -> str:
    """Meteorological seasons of northern China: spring Mar-May, summer Jun-Aug, ..."""
    return SEASONS[((day.month - 3) % 12) // 3]


@dataclass(frozen=True)
class Observation:
    soak_minutes: float
    water_temp_c: float
    air_temp_c: float
    rice_moisture_pct: float
    season: str
    result: str = SoakResult.GOOD.value
    record_id: int | None = None

    @property
    def good(self) -> bool:
        return self.result == SoakResult.GOOD.value

    def factor(self, name: str) -> float:
        value: float = getattr(self, name)
        return value


@dataclass(frozen=True)
class SoakRule:
    """minutes = intercept + sum(coefficients[f] * value of f)."""

    intercept: float
    coefficients: dict[str, float]
    scope: str  # a season name or "all"
    n_records: int
    residual_minutes: float  # root mean square error of the fit on its own data
    record_ids: tuple[int, ...] = ()

    def predict(self, values: dict[str, float]) -> float:
        return self.intercept + sum(c * values[f] for f, c in self.coefficients.items())

    def describe(self) -> str:
        terms = [f"{self.intercept:.1f}"]
        for name, coef in self.coefficients.items():
            terms.append(f"{coef:+.2f}×{name}")
        return "minutes = " + " ".join(terms)


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None when singular."""
    n = len(vector)
    a = [[*row, vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        if abs(a[pivot][col]) < 1e-9:
            return None
        a[col], a[pivot] = a[pivot], a[col]
        for row in range(col + 1, n):
            ratio = a[row][col] / a[col][col]
            for k in range(col, n + 1):
                a[row][k] -= ratio * a[col][k]
    solution = [0.0] * n
    for row in range(n - 1, -1, -1):
        total = a[row][n] - sum(a[row][k] * solution[k] for k in range(row + 1, n))
        solution[row] = total / a[row][row]
    return solution


def fit_rule(observations: Sequence[Observation], scope: str) -> SoakRule | None:
    """Least squares of soak minutes on the factors that varied; None with too few records."""
    good = [o for o in observations if o.good]
    if len(good) < MIN_RECORDS_FOR_FIT:
        return None
    # Centre the factors: keeps the normal equations well conditioned (45 °C against 0-1 %).
    means = {f: statistics.fmean(o.factor(f) for o in good) for f in FACTORS}
    varying = [f for f in FACTORS if max(abs(o.factor(f) - means[f]) for o in good) > MIN_SPREAD]
    rows = [[1.0] + [o.factor(f) - means[f] for f in varying] for o in good]
    targets = [o.soak_minutes for o in good]
    size = len(varying) + 1
    normal = [[sum(r[i] * r[j] for r in rows) for j in range(size)] for i in range(size)]
    rhs = [sum(r[i] * t for r, t in zip(rows, targets, strict=True)) for i in range(size)]
    solution = _solve(normal, rhs)
    if solution is None:
        return None
    coefficients = dict(zip(varying, solution[1:], strict=True))
    intercept = solution[0] - sum(coefficients[f] * means[f] for f in varying)
    rule = SoakRule(intercept, coefficients, scope, len(good), 0.0)
    errors = [rule.predict({f: o.factor(f) for f in FACTORS}) - o.soak_minutes for o in good]
    rmse = math.sqrt(statistics.fmean(e * e for e in errors))
    return SoakRule(
        intercept,
        coefficients,
        scope,
        len(good),
        rmse,
        tuple(o.record_id for o in good if o.record_id is not None),
    )


@dataclass(frozen=True)
class SoakRecommendation:
    minutes: int
    water_temp_c: float
    basis: str  # "override", "season", "all", "median", "default"
    season: str
    rule: SoakRule | None  # the fitted rule, shown even when overridden
    fitted_minutes: int | None  # what the rule alone says
    override_reason: str = ""
    counts: dict[str, int] = field(default_factory=dict)  # good/under/over records this season

    def soak_start(self, production_day: date, production_start: time) -> datetime:
        """When to put the rice in the water so it is ready when milling starts."""
        ready = datetime.combine(production_day, production_start, LOCAL_ZONE)
        return ready - timedelta(minutes=self.minutes)


def _clamp(minutes: float) -> int:
    low, high = SOAK_LIMITS_MINUTES
    return round(min(max(minutes, low), high))


def recommend(
    observations: Sequence[Observation],
    *,
    season: str,
    air_temp_c: float,
    rice_moisture_pct: float,
    default_minutes: int,
    default_water_temp_c: float,
    water_temp_c: float | None = None,
    override: tuple[int, float | None, str] | None = None,
) -> SoakRecommendation:
    """The soak for a day of `season` with the given conditions: the manager's override for
    the season if there is one, else the season's rule, else the all-season rule, else the
    median of the season's good soaks, else the default standard."""
    in_season = [o for o in observations if o.season == season]
    good_in_season = [o for o in in_season if o.good]
    counts = {r.value: sum(1 for o in in_season if o.result == r.value) for r in SoakResult}
    if water_temp_c is None:
        water_temp_c = (
            statistics.median(o.water_temp_c for o in good_in_season)
            if good_in_season
            else default_water_temp_c
        )
    values = {
        "water_temp_c": water_temp_c,
        "air_temp_c": air_temp_c,
        "rice_moisture_pct": rice_moisture_pct,
    }
    rule = fit_rule(in_season, season) or fit_rule(observations, "all")
    fitted = _clamp(rule.predict(values)) if rule else None
    if override is not None:
        minutes, override_water, reason = override
        return SoakRecommendation(
            minutes=minutes,
            water_temp_c=override_water if override_water is not None else water_temp_c,
            basis="override",
            season=season,
            rule=rule,
            fitted_minutes=fitted,
            override_reason=reason,
            counts=counts,
        )
    if rule is not None and fitted is not None:
        basis = "season" if rule.scope == season else "all"
        return SoakRecommendation(fitted, water_temp_c, basis, season, rule, fitted, "", counts)
    if good_in_season:
        median = _clamp(statistics.median(o.soak_minutes for o in good_in_season))
        return SoakRecommendation(median, water_temp_c, "median", season, None, None, "", counts)
    return SoakRecommendation(
        default_minutes, water_temp_c, "default", season, None, None, "", counts
    )


# -- the database side ----------------------------------------------------------------


def record_soak(
    session: Session,
    *,
    production_day: date,
    soak_minutes: int,
    water_temp_c: float,
    air_temp_c: float,
    rice_moisture_pct: float,
    result: SoakResult | str,
    batch_ref: str | None = None,
    rice_lot_code: str | None = None,
    notes: str = "",
) -> SoakRecord:
    try:
        outcome = SoakResult(result)
    except ValueError as exc:
        raise InvalidSoakRecord(
            f"result must be one of {', '.join(r.value for r in SoakResult)}",
            key="msg.soak.result",
            field="result",
        ) from exc
    low, high = SOAK_LIMITS_MINUTES
    if not low <= soak_minutes <= high:
        raise InvalidSoakRecord(
            f"soak time must be {low}-{high} minutes",
            key="msg.soak.minutes",
            field="soak_minutes",
            value=soak_minutes,
        )
    if not 0 < water_temp_c < 100:
        raise InvalidSoakRecord(
            "water temperature must be 0-100 °C", key="msg.soak.water", field="water_temp_c"
        )
    if not -40 <= air_temp_c <= 50:
        raise InvalidSoakRecord(
            "air temperature must be -40-50 °C", key="msg.soak.air", field="air_temp_c"
        )
    if not 0 <= rice_moisture_pct <= 100:
        raise InvalidSoakRecord(
            "rice moisture must be 0-100 %", key="msg.soak.moisture", field="rice_moisture_pct"
        )
    row = SoakRecord(
        production_day=production_day,
        batch_ref=batch_ref,
        soak_minutes=soak_minutes,
        water_temp_c=water_temp_c,
        air_temp_c=air_temp_c,
        rice_moisture_pct=rice_moisture_pct,
        result=outcome,
        rice_lot_code=rice_lot_code,
        notes=notes,
    )
    session.add(row)
    session.flush()
    publish(
        session,
        "soak.recorded",
        {
            "id": row.id,
            "production_day": production_day.isoformat(),
            "soak_minutes": soak_minutes,
            "result": outcome.value,
        },
        key=f"soak:{production_day.isoformat()}",
    )
    return row


def observations(session: Session) -> list[Observation]:
    return [
        Observation(
            soak_minutes=r.soak_minutes,
            water_temp_c=r.water_temp_c,
            air_temp_c=r.air_temp_c,
            rice_moisture_pct=r.rice_moisture_pct,
            season=season_of(r.production_day),
            result=r.result.value,
            record_id=r.id,
        )
        for r in session.scalars(select(SoakRecord).order_by(SoakRecord.production_day))
    ]


def set_override(
    session: Session,
    season: str,
    soak_minutes: int | None,
    *,
    water_temp_c: float | None = None,
    reason: str = "",
    set_by: str = "",
) -> SoakOverride | None:
    """Set (or with soak_minutes=None clear) the manager's soak time for a season."""
    if season not in SEASONS:
        raise InvalidSoakRecord(
            f"season must be one of {', '.join(SEASONS)}", key="msg.soak.season", field="season"
        )
    existing = session.scalar(select(SoakOverride).where(SoakOverride.season == season))
    if soak_minutes is None:
        if existing is not None:
            session.delete(existing)
        publish(session, "soak.standard.cleared", {"season": season}, key=f"soak:{season}")
        return None
    low, high = SOAK_LIMITS_MINUTES
    if not low <= soak_minutes <= high:
        raise InvalidSoakRecord(
            f"soak time must be {low}-{high} minutes",
            key="msg.soak.minutes_standard",
            field="soak_minutes",
        )
    if existing is None:
        existing = SoakOverride(season=season, soak_minutes=soak_minutes)
        session.add(existing)
    existing.soak_minutes = soak_minutes
    existing.water_temp_c = water_temp_c
    existing.reason = reason
    existing.set_by = set_by
    existing.set_at = utcnow()
    session.flush()
    publish(
        session,
        "soak.standard.overridden",
        {"season": season, "soak_minutes": soak_minutes, "water_temp_c": water_temp_c},
        key=f"soak:{season}",
    )
    return existing


def recommend_for_day(
    session: Session,
    settings: Settings,
    production_day: date,
    *,
    air_temp_c: float,
    rice_moisture_pct: float,
    water_temp_c: float | None = None,
) -> SoakRecommendation:
    season = season_of(production_day)
    row = session.scalar(select(SoakOverride).where(SoakOverride.season == season))
    return recommend(
        observations(session),
        season=season,
        air_temp_c=air_temp_c,
        rice_moisture_pct=rice_moisture_pct,
        default_minutes=settings.soak_default_minutes,
        default_water_temp_c=settings.soak_water_temp_c,
        water_temp_c=water_temp_c,
        override=(row.soak_minutes, row.water_temp_c, row.reason) if row else None,
    )
