"""A distributor account's standing: suspended or not, and what it owes and has booked
against its credit limit.

Open balance = the unpaid statement balance (goods collected, priced as booked, less the
payments received) + the open bookings (confirmed or checked in, priced as booked). A
booking, or a change that adds to one, that would take the open balance over the credit
limit is refused, naming the limit and the balance. A limit of 0 means none was set (the
onboarding default): such an account books without a limit.

Two bookings of one account at the same moment must not both fit under the limit, and a
booking must not slip past a suspension being saved: both are checked under a row lock on
the distributor (`SELECT ... FOR UPDATE`), the first lock a booking takes (then the slot,
then the supply rows: the order every booking path keeps). A booking made inside a larger
transaction that already holds slot or supply rows (the waitlist served after a
cancellation, the standing-order run) must not wait for that lock, or it could deadlock with
the account's own booking waiting for those rows: it passes `wait=False` and treats a busy
account like a full slot (tried again later).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from shop.distributors.errors import DistributorNotFound
from shop.distributors.models import Booking, BookingLine, BookingStatus, Distributor
from shop.distributors.onboarding_models import AccountPayment, DistributorTerms
from shop.distributors.rules import LIVE


class AccountSuspended(DomainError):
    code = "account_suspended"
    status = 403


class AccountBusy(DomainError):
    """Another booking of the account holds its lock; only for callers that must not wait."""

    code = "account_busy"
    status = 409


class CreditLimitExceeded(DomainError):
    code = "credit_limit_exceeded"
    status = 409


@dataclass(frozen=True)
class Credit:
    limit_fen: int  # 0: no limit set
    statement_fen: int  # collected goods less payments (negative: paid ahead)
    open_bookings_fen: int  # confirmed and checked-in bookings, priced as booked

    @property
    def open_fen(self) -> int:
        return self.statement_fen + self.open_bookings_fen

    @property
    def available_fen(self) -> int | None:
        """What can still be booked; None when no limit is set."""
        return self.limit_fen - self.open_fen if self.limit_fen else None


def statement_balance_fen(
    session: Session, distributor_id: int, *, before: date | None = None
) -> int:
    """What the distributor owes: collected goods priced as booked, less payments received
    (both before `before` when given)."""
    charges = (
        select(func.coalesce(func.sum(BookingLine.cases * BookingLine.case_price_fen), 0))
        .join(Booking, Booking.id == BookingLine.booking_id)
        .where(Booking.distributor_id == distributor_id, Booking.status == BookingStatus.COLLECTED)
    )
    paid = select(func.coalesce(func.sum(AccountPayment.amount_fen), 0)).where(
        AccountPayment.distributor_id == distributor_id
    )
    if before is not None:
        charges = charges.where(Booking.day < before)
        paid = paid.where(AccountPayment.received_on < before)
    return int(session.scalar(charges) or 0) - int(session.scalar(paid) or 0)


def open_bookings_fen(
    session: Session, distributor_id: int, *, excluding_booking: int | None = None
) -> int:
    """Bookings not yet collected (confirmed or checked in), priced as booked."""
    stmt = (
        select(func.coalesce(func.sum(BookingLine.cases * BookingLine.case_price_fen), 0))
        .join(Booking, Booking.id == BookingLine.booking_id)
        .where(Booking.distributor_id == distributor_id, Booking.status.in_(LIVE))
    )
    if excluding_booking is not None:
        stmt = stmt.where(Booking.id != excluding_booking)
    return int(session.scalar(stmt) or 0)


def credit_limit_fen(session: Session, distributor_id: int) -> int:
    limit = session.scalar(
        select(DistributorTerms.credit_limit_fen).where(
            DistributorTerms.distributor_id == distributor_id
        )
    )
    return int(limit or 0)


def credit_of(
    session: Session, distributor_id: int, *, excluding_booking: int | None = None
) -> Credit:
    return Credit(
        limit_fen=credit_limit_fen(session, distributor_id),
        statement_fen=statement_balance_fen(session, distributor_id),
        open_bookings_fen=open_bookings_fen(
            session, distributor_id, excluding_booking=excluding_booking
        ),
    )


def lock_account(session: Session, distributor_id: int, *, wait: bool = True) -> Distributor:
    """The distributor row, locked for this transaction and read afresh; refused when the
    account is suspended. `wait=False`: AccountBusy instead of waiting for another booking."""
    stmt = (
        select(Distributor)
        .where(Distributor.id == distributor_id)
        .with_for_update(skip_locked=not wait)
        .execution_options(populate_existing=True)
    )
    distributor = session.scalar(stmt)
    if distributor is None:
        if not wait and session.get(Distributor, distributor_id) is not None:
            raise AccountBusy(
                "another booking of this account is being saved; try again",
                key="credit.err.busy",
            )
        raise DistributorNotFound(
            "no such distributor", key="msg.dist.not_found", distributor_id=distributor_id
        )
    if not distributor.active:
        raise AccountSuspended("this distributor account is suspended", key="msg.dist.suspended")
    return distributor


def check_credit(
    session: Session,
    distributor_id: int,
    adding_fen: int,
    *,
    excluding_booking: int | None = None,
) -> None:
    """Refuse a booking worth `adding_fen` (with `excluding_booking` left out of the open
    bookings: the one being changed) that would take the open balance over the limit.
    Call it with the account locked (`lock_account`)."""
    limit = credit_limit_fen(session, distributor_id)
    if not limit or adding_fen <= 0:
        return
    credit = credit_of(session, distributor_id, excluding_booking=excluding_booking)
    if credit.open_fen + adding_fen > limit:
        raise CreditLimitExceeded(
            f"this booking (¥{adding_fen / 100:,.2f}) would take the account over its credit "
            f"limit of ¥{limit / 100:,.2f}: the open balance is ¥{credit.open_fen / 100:,.2f} "
            f"(statement ¥{credit.statement_fen / 100:,.2f}, open bookings "
            f"¥{credit.open_bookings_fen / 100:,.2f})",
            key="credit.err.over_limit",
            limit=_yuan(limit),
            balance=_yuan(credit.open_fen),
            statement=_yuan(credit.statement_fen),
            booked=_yuan(credit.open_bookings_fen),
            adding=_yuan(adding_fen),
            available=_yuan(max(0, limit - credit.open_fen)),
            limit_fen=limit,
            balance_fen=credit.open_fen,
            adding_fen=adding_fen,
        )


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:,.2f}"
