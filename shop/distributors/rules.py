"""Pure rules of the distributor area (no database): what counts as a live booking, the
pickup window, the booking cut-off and slot readiness checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from inventory import reservations
from inventory.rules import LOCAL_ZONE, local_moment
from scheduling.cutoff import cutoff_for, is_past_cutoff
from scheduling.errors import CutoffPassed, SlotUnavailable
from scheduling.pickup.models import PickupSlot
from scheduling.pickup.slots import SlotRules
from shop.distributors.models import BookingStatus

# Hot same-morning pickup: a booking for day t draws only on day t's output.
PICKUP_WINDOW_DAYS = 1
LIVE = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


def cutoff_message_params(day: date, rules: SlotRules) -> dict[str, str]:
    cutoff = cutoff_for(day, rules.cutoff).astimezone(LOCAL_ZONE)
    return {"day": day.isoformat(), "cutoff": cutoff.strftime("%Y-%m-%d %H:%M")}


def check_cutoff(day: date, now: datetime, rules: SlotRules, action: str) -> None:
    if is_past_cutoff(day, now, rules.cutoff):
        params = cutoff_message_params(day, rules)
        raise CutoffPassed(
            f"too late to {action}: bookings for pickup on {params['day']} closed at "
            f"{params['cutoff']} (Beijing time), when the rice for that morning went to soak",
            cutoff=params["cutoff"],
            day=params["day"],
        )


def stock_lines(day: date, priced: Sequence[tuple[str, int, int, int]]) -> list[reservations.Line]:
    return [reservations.Line(sku=sku, day=day, quantity=pieces) for sku, _, pieces, _ in priced]


def check_slot_ready(slot: PickupSlot, rules: SlotRules) -> None:
    ready = local_moment(slot.day, rules.ready_at)
    if slot.starts_at < ready:
        raise SlotUnavailable(
            "this slot starts before the first batch is out of the steamers",
            slot_id=slot.id,
        )
