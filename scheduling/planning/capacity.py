"""The manager's capacity model and what it gives per day.

Defaults live on the profile (mills, cabinets, shift from 04:00, roster); `CapacityDay` rows
change one day (one more mill, an extra shift, two temporary apprentices). A scenario is a
copy of a profile that the manager edits without touching the live one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from scheduling.planner.model import DayCapacity, StaffGroup
from scheduling.planning.calendar import calendar_days
from scheduling.planning.crop import current_crop_year
from scheduling.planning.models import CapacityDay, CapacityProfile, StaffKind, StaffMember
from scheduling.planning.recipes import STEPS

MAIN_PROFILE = "main"
APPRENTICE_SKILLS = ["stack"]  # moulds are accepted only after a month
APPRENTICE_PRODUCTIVITY = 60

PROFILE_FIELDS: dict[str, type] = {
    "mills": int,
    "mill_kg_per_hour": int,
    "mill_hours": float,
    "cabinets": int,
    "trays_per_cycle": int,
    "cycle_minutes": int,
    "shift_hours": float,
    "extra_shift_hours": float,
}


class ProfileNotFound(DomainError):
    code = "profile_not_found"
    status = 404


class ProfileNameTaken(DomainError):
    code = "profile_name_taken"
    status = 409


def _default_staff(profile: CapacityProfile) -> None:
    for i in range(6):
        profile.staff.append(
            StaffMember(
                name=f"师傅{i + 1}",
                kind=StaffKind.CORE,
                skills=list(STEPS),
                productivity_pct=100,
                weekdays=[0, 1, 2, 3, 4, 5, 6],
                days_off=[],
            )
        )
    for i in range(2):
        profile.staff.append(
            StaffMember(
                name=f"学徒{i + 1}",
                kind=StaffKind.APPRENTICE,
                skills=list(APPRENTICE_SKILLS),
                productivity_pct=APPRENTICE_PRODUCTIVITY,
                weekdays=[0, 1, 2, 3, 4, 5],
                days_off=[],
            )
        )


def main_profile(session: Session) -> CapacityProfile:
    """The live capacity model, created with the domain's defaults on first use."""
    profile = session.scalar(select(CapacityProfile).where(CapacityProfile.is_main.is_(True)))
    if profile is None:
        profile = CapacityProfile(
            name=MAIN_PROFILE,
            is_main=True,
            mills=4,
            mill_kg_per_hour=18,
            mill_hours=10.0,
            cabinets=3,
            trays_per_cycle=12,
            cycle_minutes=40,
            shift_hours=10.0,
            extra_shift_hours=4.0,
        )
        _default_staff(profile)
        session.add(profile)
        session.flush()
    return profile


def get_profile(session: Session, profile_id: int) -> CapacityProfile:
    profile = session.get(CapacityProfile, profile_id)
    if profile is None:
        raise ProfileNotFound(
            f"no capacity profile {profile_id}",
            key="msg.capacity.no_profile",
            profile_id=profile_id,
        )
    return profile


def list_profiles(session: Session) -> list[CapacityProfile]:
    main_profile(session)
    return list(
        session.scalars(
            select(CapacityProfile).order_by(CapacityProfile.is_main.desc(), CapacityProfile.id)
        )
    )


def update_profile(session: Session, profile: CapacityProfile, changes: Mapping[str, Any]) -> None:
    for name, value in changes.items():
        if name not in PROFILE_FIELDS:
            raise DomainError(
                f"unknown capacity field {name!r}", key="msg.capacity.unknown_field", field=name
            )
        number = PROFILE_FIELDS[name](value)
        if number < 0 or (
            name in {"mill_kg_per_hour", "trays_per_cycle", "cycle_minutes"} and number <= 0
        ):
            raise DomainError(f"{name} must be positive", key="msg.capacity.positive", field=name)
        if name in {"shift_hours", "extra_shift_hours", "mill_hours"} and number > 24:
            raise DomainError(
                f"{name} cannot exceed 24 hours", key="msg.capacity.max_24h", field=name
            )
        setattr(profile, name, number)
    if "note" in changes:
        profile.note = str(changes["note"])
    session.flush()


def set_capacity_day(
    session: Session,
    profile: CapacityProfile,
    day: date,
    *,
    mills: int | None = None,
    mill_hours: float | None = None,
    cabinets: int | None = None,
    shift_hours: float | None = None,
    extra_shift: bool = False,
    extra_staff: Mapping[str, int] | None = None,
) -> CapacityDay:
    for name, value in (
        ("mills", mills),
        ("cabinets", cabinets),
        ("mill_hours", mill_hours),
        ("shift_hours", shift_hours),
    ):
        if value is not None and not 0 <= value <= (24 if "hours" in name else 1000):
            raise DomainError(
                f"{name} out of range",
                key="msg.capacity.out_of_range",
                field=name,
                day=day.isoformat(),
            )
    extra = {k: int(v) for k, v in (extra_staff or {}).items()}
    if any(k not in {"core", "apprentice"} or v < 0 for k, v in extra.items()):
        raise DomainError(
            "extra staff is a count of 'core' or 'apprentice'",
            key="msg.capacity.extra_staff",
            field="extra_staff",
        )
    row = session.scalar(
        select(CapacityDay).where(CapacityDay.profile_id == profile.id, CapacityDay.day == day)
    )
    if row is None:
        row = CapacityDay(day=day)
        profile.days.append(row)  # through the collection, so the profile sees it at once
    row.mills, row.mill_hours, row.cabinets, row.shift_hours = (
        mills,
        mill_hours,
        cabinets,
        shift_hours,
    )
    row.extra_shift = extra_shift
    row.extra_staff = extra
    session.flush()
    return row


def add_staff(
    session: Session,
    profile: CapacityProfile,
    *,
    name: str,
    kind: StaffKind,
    skills: list[str] | None = None,
    productivity_pct: int | None = None,
    weekdays: list[int] | None = None,
) -> StaffMember:
    skills = (
        list(skills)
        if skills is not None
        else (list(STEPS) if kind is StaffKind.CORE else list(APPRENTICE_SKILLS))
    )
    unknown = set(skills) - set(STEPS)
    if unknown:
        raise DomainError(
            f"unknown steps {sorted(unknown)}", key="msg.capacity.unknown_steps", field="skills"
        )
    days = weekdays if weekdays is not None else [0, 1, 2, 3, 4, 5, 6]
    if any(d not in range(7) for d in days):
        raise DomainError(
            "weekdays are 0 (Monday) to 6 (Sunday)", key="msg.capacity.weekdays", field="weekdays"
        )
    pct = (
        productivity_pct
        if productivity_pct is not None
        else (100 if kind is StaffKind.CORE else APPRENTICE_PRODUCTIVITY)
    )
    if not 1 <= pct <= 200:
        raise DomainError(
            "productivity is 1-200 %", key="msg.capacity.productivity", field="productivity_pct"
        )
    if not name.strip():
        raise DomainError("a name is required", key="msg.capacity.name_required", field="name")
    member = StaffMember(
        name=name.strip(),
        kind=kind,
        skills=skills,
        productivity_pct=pct,
        weekdays=sorted(set(days)),
        days_off=[],
    )
    profile.staff.append(member)  # through the collection, so the profile sees it at once
    session.flush()
    return member


def remove_staff(session: Session, profile: CapacityProfile, staff_id: int) -> None:
    member = session.get(StaffMember, staff_id)
    if member is None or member.profile_id != profile.id:
        raise DomainError(
            f"no staff member {staff_id} in this profile",
            key="msg.capacity.no_staff",
            staff_id=staff_id,
        )
    profile.staff.remove(member)  # delete-orphan removes the row
    session.flush()


def copy_profile(
    session: Session, source: CapacityProfile, name: str, note: str = ""
) -> CapacityProfile:
    """A what-if scenario: the source's defaults, roster and day overrides, to edit freely."""
    name = name.strip()
    if not name:
        raise DomainError("a scenario needs a name", key="msg.capacity.scenario_name", field="name")
    if session.scalar(select(CapacityProfile.id).where(CapacityProfile.name == name)):
        raise ProfileNameTaken(
            f"a profile named {name!r} exists", key="msg.capacity.name_taken", field="name"
        )
    copy = CapacityProfile(name=name, is_main=False, based_on_id=source.id, note=note)
    for attr in PROFILE_FIELDS:
        setattr(copy, attr, getattr(source, attr))
    copy.shift_start = source.shift_start
    for m in source.staff:
        copy.staff.append(
            StaffMember(
                name=m.name,
                kind=m.kind,
                skills=list(m.skills),
                productivity_pct=m.productivity_pct,
                weekdays=list(m.weekdays),
                days_off=list(m.days_off),
            )
        )
    for d in source.days:
        copy.days.append(
            CapacityDay(
                day=d.day,
                mills=d.mills,
                mill_hours=d.mill_hours,
                cabinets=d.cabinets,
                shift_hours=d.shift_hours,
                extra_shift=d.extra_shift,
                extra_staff=dict(d.extra_staff),
            )
        )
    session.add(copy)
    session.flush()
    return copy


def delete_profile(session: Session, profile: CapacityProfile) -> None:
    if profile.is_main:
        raise DomainError(
            "the live capacity profile cannot be deleted", key="msg.capacity.live_profile"
        )
    session.delete(profile)
    session.flush()


def extra_shift_on(session: Session, profile: CapacityProfile, days: list[date]) -> None:
    """Switch the extra shift on for the given days, keeping their other overrides."""
    session.flush()
    overrides = {
        d.day: d
        for d in session.scalars(select(CapacityDay).where(CapacityDay.profile_id == profile.id))
    }
    for day in days:
        row = overrides.get(day)
        if row is None:
            profile.days.append(CapacityDay(day=day, extra_shift=True, extra_staff={}))
        else:
            row.extra_shift = True
    session.flush()


def _works(member: StaffMember, day: date) -> bool:
    return day.weekday() in member.weekdays and day.isoformat() not in member.days_off


def day_capacities(
    session: Session, profile: CapacityProfile, start: date, end: date, *, harvest_month: int = 10
) -> list[DayCapacity]:
    """What the plant can do each day from start to end, calendar closures applied."""
    overrides = {
        d.day: d
        for d in session.scalars(
            select(CapacityDay).where(
                CapacityDay.profile_id == profile.id,
                CapacityDay.day >= start,
                CapacityDay.day <= end,
            )
        )
    }
    calendar = {c.day: c for c in calendar_days(session, start, end)}
    out = []
    day = start
    while day <= end:
        o = overrides.get(day)
        mills = o.mills if o and o.mills is not None else profile.mills
        mill_hours = o.mill_hours if o and o.mill_hours is not None else profile.mill_hours
        cabinets = o.cabinets if o and o.cabinets is not None else profile.cabinets
        shift = o.shift_hours if o and o.shift_hours is not None else profile.shift_hours
        extra = profile.extra_shift_hours if o and o.extra_shift else 0.0
        groups: dict[frozenset[str], list[float]] = {}
        headcount = 0
        people = [(set(m.skills), m.productivity_pct) for m in profile.staff if _works(m, day)]
        for kind, count in (o.extra_staff if o else {}).items():
            skills, pct = (
                (set(STEPS), 100)
                if kind == "core"
                else (set(APPRENTICE_SKILLS), APPRENTICE_PRODUCTIVITY)
            )
            people += [(skills, pct)] * int(count)
        for skills, pct in people:
            headcount += 1
            g = groups.setdefault(frozenset(skills), [0.0, 0.0])
            g[0] += shift * 60.0 * pct / 100.0
            g[1] += 60.0 * pct / 100.0
        cycles = math.floor(shift * 60 / profile.cycle_minutes) * cabinets
        out.append(
            DayCapacity(
                day=day,
                production=calendar[day].production,
                mill_kg=mills * profile.mill_kg_per_hour * mill_hours,
                mill_kg_per_extra_hour=float(mills * profile.mill_kg_per_hour),
                trays=float(cycles * profile.trays_per_cycle),
                trays_per_extra_hour=cabinets
                * profile.trays_per_cycle
                * 60.0
                / profile.cycle_minutes,
                staff=tuple(
                    StaffGroup(k, v[0], v[1])
                    for k, v in sorted(groups.items(), key=lambda kv: sorted(kv[0]))
                ),
                extra_hours=extra,
                headcount=max(1, headcount),
                crop_year=current_crop_year(day, harvest_month),
            )
        )
        day += timedelta(days=1)
    return out


def profile_dict(profile: CapacityProfile) -> dict[str, Any]:
    return {
        "id": profile.id,
        "name": profile.name,
        "is_main": profile.is_main,
        "based_on_id": profile.based_on_id,
        "note": profile.note,
        **{f: getattr(profile, f) for f in PROFILE_FIELDS},
        "shift_start": profile.shift_start.strftime("%H:%M"),
        "staff": [
            {
                "id": m.id,
                "name": m.name,
                "kind": m.kind.value,
                "skills": list(m.skills),
                "productivity_pct": m.productivity_pct,
                "weekdays": list(m.weekdays),
            }
            for m in profile.staff
        ],
        "days": [
            {
                "day": d.day.isoformat(),
                "mills": d.mills,
                "mill_hours": d.mill_hours,
                "cabinets": d.cabinets,
                "shift_hours": d.shift_hours,
                "extra_shift": d.extra_shift,
                "extra_staff": dict(d.extra_staff),
            }
            for d in profile.days
        ],
    }
