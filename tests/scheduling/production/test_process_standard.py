from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.models import OutboxEvent
from inventory.settings import Settings
from scheduling.production.models import SoakRecord
from scheduling.production.process_standard import (
    InvalidSoakRecord,
    Observation,
    fit_rule,
    recommend,
    recommend_for_day,
    record_soak,
    season_of,
    set_override,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def truth(water: float, air: float, moisture: float, season: str) -> float:
    """The makers' hidden rule: warmer water and air and wetter rice soak faster."""
    base = {"winter": 420.0, "spring": 330.0, "summer": 260.0, "autumn": 320.0}[season]
    return base - 4.0 * (water - 45) - 3.0 * air - 12.0 * (moisture - 14)


def four_years(rng: random.Random, noise: float = 0.0) -> list[Observation]:
    records = []
    day = date(2004, 3, 1)
    for _ in range(4 * 365):
        season = season_of(day)
        water = rng.choice([43.0, 44.0, 45.0, 46.0, 47.0])
        air = {"winter": -5.0, "spring": 14.0, "summer": 28.0, "autumn": 15.0}[season]
        air += rng.uniform(-6, 6)
        moisture = rng.uniform(12.5, 15.5)
        minutes = truth(water, air, moisture, season) + rng.gauss(0, noise)
        records.append(Observation(round(minutes), water, air, moisture, season))
        day += timedelta(days=1)
    return records


def test_seasons_follow_the_calendar_of_northern_china() -> None:
    assert [season_of(date(2027, m, 15)) for m in (1, 3, 6, 9, 12)] == [
        "winter",
        "spring",
        "summer",
        "autumn",
        "winter",
    ]


def test_a_rule_fitted_to_four_years_of_records_recovers_the_makers_standard() -> None:
    winter = [o for o in four_years(random.Random(7)) if o.season == "winter"]
    rule = fit_rule(winter, "winter")
    assert rule is not None
    assert rule.coefficients["water_temp_c"] == pytest.approx(-4.0, abs=0.05)
    assert rule.coefficients["air_temp_c"] == pytest.approx(-3.0, abs=0.05)
    assert rule.coefficients["rice_moisture_pct"] == pytest.approx(-12.0, abs=0.2)
    assert rule.residual_minutes < 1.0  # only rounding to whole minutes
    assert rule.predict(
        {"water_temp_c": 45, "air_temp_c": -5, "rice_moisture_pct": 14}
    ) == pytest.approx(truth(45, -5, 14, "winter"), abs=1)


def test_a_factor_that_never_varied_drops_out_instead_of_breaking_the_fit() -> None:
    records = [Observation(300 - 3 * air, 45.0, air, 14.0, "spring") for air in range(5, 20)]
    rule = fit_rule(records, "spring")
    assert rule is not None
    assert set(rule.coefficients) == {"air_temp_c"}
    assert rule.predict({"water_temp_c": 45, "air_temp_c": 10, "rice_moisture_pct": 14}) == (
        pytest.approx(270)
    )


def test_too_few_good_records_give_no_rule_and_bad_soaks_are_not_learned_from() -> None:
    good = [Observation(300, 45, 10 + i, 14, "spring") for i in range(5)]
    bad = [Observation(100, 45, 10 + i, 14, "spring", result="under") for i in range(10)]
    assert fit_rule(good + bad, "spring") is None


def test_the_recommendation_prefers_the_season_rule_then_all_seasons_then_median_then_default() -> (
    None
):
    rng = random.Random(3)
    history = four_years(rng, noise=5)
    args: dict[str, Any] = {"air_temp_c": -8.0, "rice_moisture_pct": 13.0, "default_minutes": 240}
    by_season = recommend(history, season="winter", default_water_temp_c=45, **args)
    assert by_season.basis == "season"
    assert abs(by_season.minutes - truth(45, -8, 13, "winter")) < 6
    assert by_season.counts["good"] > 300

    no_winter = [o for o in history if o.season != "winter"]
    pooled = recommend(no_winter, season="winter", default_water_temp_c=45, **args)
    assert pooled.basis == "all" and pooled.rule is not None and pooled.rule.scope == "all"

    few = [Observation(m, 45, -5, 14, "winter") for m in (400, 410, 430)]
    assert recommend(few, season="winter", default_water_temp_c=45, **args).basis == "median"
    assert recommend(few, season="winter", default_water_temp_c=45, **args).minutes == 410
    empty = recommend([], season="winter", default_water_temp_c=45, **args)
    assert (empty.basis, empty.minutes, empty.water_temp_c) == ("default", 240, 45)


def test_the_managers_override_wins_and_the_fitted_rule_stays_visible() -> None:
    history = four_years(random.Random(5))
    rec = recommend(
        history,
        season="summer",
        air_temp_c=30,
        rice_moisture_pct=14,
        default_minutes=240,
        default_water_temp_c=45,
        override=(200, 42.0, "new rice from Baodi soaks faster"),
    )
    assert (rec.basis, rec.minutes, rec.water_temp_c) == ("override", 200, 42.0)
    assert rec.fitted_minutes == round(truth(45, 30, 14, "summer"))
    assert rec.override_reason == "new rice from Baodi soaks faster"


def test_soaking_starts_the_evening_before_so_the_rice_is_ready_at_four() -> None:
    rec = recommend(
        [],
        season="winter",
        air_temp_c=0,
        rice_moisture_pct=14,
        default_minutes=300,
        default_water_temp_c=45,
    )
    start = rec.soak_start(date(2027, 2, 1), time(4, 0))
    assert start == datetime(2027, 1, 31, 23, 0, tzinfo=SHANGHAI)


def test_soak_records_are_stored_and_drive_the_days_recommendation(
    db: sessionmaker[Session], settings: Settings
) -> None:
    rng = random.Random(11)
    with transaction(db) as session:
        day = date(2026, 12, 1)
        for _ in range(20):
            air = rng.uniform(-10, 5)
            record_soak(
                session,
                production_day=day,
                soak_minutes=round(truth(45, air, 14, "winter")),
                water_temp_c=45,
                air_temp_c=air,
                rice_moisture_pct=14,
                result="good",
            )
            day += timedelta(days=1)
    with db() as session:
        rec = recommend_for_day(
            session, settings, date(2027, 1, 20), air_temp_c=-10, rice_moisture_pct=14
        )
        assert rec.basis == "season"
        assert rec.minutes == round(truth(45, -10, 14, "winter"))
        assert rec.rule is not None and len(rec.rule.record_ids) == 20
        assert "air_temp_c" in rec.rule.describe()

    with transaction(db) as session:
        set_override(session, "winter", 480, reason="old mill stones", set_by="manager@x")
    with db() as session:
        rec = recommend_for_day(
            session, settings, date(2027, 1, 20), air_temp_c=-10, rice_moisture_pct=14
        )
        assert (rec.basis, rec.minutes) == ("override", 480)
    with transaction(db) as session:
        set_override(session, "winter", None)
    with db() as session:
        rec = recommend_for_day(
            session, settings, date(2027, 1, 20), air_temp_c=-10, rice_moisture_pct=14
        )
        assert rec.basis == "season"
        types = list(session.scalars(select(OutboxEvent.type)))
    assert types.count("soak.recorded") == 20
    assert "soak.standard.overridden" in types and "soak.standard.cleared" in types


@pytest.mark.parametrize(
    "change",
    [
        {"result": "meh"},
        {"soak_minutes": 5},
        {"water_temp_c": 120},
        {"air_temp_c": 70},
        {"rice_moisture_pct": 140},
    ],
)
def test_an_impossible_soak_record_is_refused_and_changes_nothing(
    db: sessionmaker[Session], change: dict[str, object]
) -> None:
    values: dict[str, object] = {
        "production_day": date(2027, 1, 20),
        "soak_minutes": 300,
        "water_temp_c": 45,
        "air_temp_c": 0,
        "rice_moisture_pct": 14,
        "result": "good",
    }
    values.update(change)
    with pytest.raises(InvalidSoakRecord), transaction(db) as session:
        record_soak(session, **values)
    with db() as session:
        assert session.scalar(select(func.count()).select_from(SoakRecord)) == 0


def test_an_override_for_an_unknown_season_is_refused(db: sessionmaker[Session]) -> None:
    with pytest.raises(InvalidSoakRecord), transaction(db) as session:
        set_override(session, "monsoon", 300)
