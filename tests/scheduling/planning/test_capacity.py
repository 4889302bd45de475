from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from scheduling.planning.capacity import (
    copy_profile,
    day_capacities,
    extra_shift_on,
    main_profile,
    set_capacity_day,
    update_profile,
)


def test_the_default_plant_turns_into_mill_cabinet_and_staff_capacity_per_day(
    session: Session,
) -> None:
    profile = main_profile(session)
    # 2027-01-18 is a Monday: everyone works; 2027-01-24 a Sunday: the apprentices are off.
    monday, sunday = day_capacities(session, profile, date(2027, 1, 18), date(2027, 1, 24))[::6]
    assert monday.production and monday.mill_kg == 4 * 18 * 10
    assert monday.trays == 15 * 3 * 12  # 600 min / 40 min = 15 cycles on 3 cabinets
    assert monday.extra_hours == 0 and monday.crop_year == 2026
    minutes = {tuple(sorted(g.skills)): g.minutes for g in monday.staff}
    assert minutes == {("mould", "stack"): 6 * 600.0, ("stack",): 2 * 600.0 * 0.6}
    assert {tuple(sorted(g.skills)) for g in sunday.staff} == {("mould", "stack")}
    # 春节 is an official holiday: no production unless the manager says so.
    (chunjie,) = day_capacities(session, profile, date(2027, 2, 6), date(2027, 2, 6))
    assert not chunjie.production


def test_a_scenario_changes_only_its_own_days_and_defaults(session: Session) -> None:
    main = main_profile(session)
    scenario = copy_profile(session, main, "what-if")
    update_profile(session, scenario, {"mills": 5})
    extra_shift_on(session, scenario, [date(2027, 2, 4)])
    set_capacity_day(session, scenario, date(2027, 2, 3), cabinets=4, extra_staff={"apprentice": 2})
    (feb3, feb4) = day_capacities(session, scenario, date(2027, 2, 3), date(2027, 2, 4))
    assert feb4.extra_hours == 4.0 and feb4.mill_kg_per_extra_hour == 5 * 18
    assert feb3.trays == 15 * 4 * 12 and feb3.headcount == 8 + 2
    (same,) = day_capacities(session, main, date(2027, 2, 4), date(2027, 2, 4))
    assert same.mill_kg == 4 * 18 * 10 and same.extra_hours == 0


def test_staff_added_and_removed_change_the_same_days_capacity_at_once(session: Session) -> None:
    from scheduling.planning.capacity import add_staff, remove_staff
    from scheduling.planning.models import StaffKind

    profile = main_profile(session)
    member = add_staff(session, profile, name="王师傅", kind=StaffKind.CORE)
    (day,) = day_capacities(session, profile, date(2027, 1, 18), date(2027, 1, 18))
    assert day.headcount == 9
    remove_staff(session, profile, member.id)
    (day,) = day_capacities(session, profile, date(2027, 1, 18), date(2027, 1, 18))
    assert day.headcount == 8
