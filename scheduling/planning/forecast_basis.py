"""Which history a forecast stands on, so the manager can judge it.

The forecast (`demand.forecast`) averages, per product, every past season on record at the
same offset from 春节 as each day of the window. This says, per product and season: the
dates of the history days that fell within the window (aligned the same way), how many days
and pieces, where each day came from (real sales, a CSV import, or the seeded demo seasons
written before sales were recorded by channel) and the pieces per channel. A season with
history but none in the window still counts in the average (as zero): it is listed with
no days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.models import Item, ItemKind
from scheduling.planning.calendar import days_from_festival, festival_year_for
from scheduling.planning.history_models import SalesByChannel
from scheduling.planning.models import SalesHistory

SEEDED = "seeded"  # history with no per-channel row: the demo seasons (or older data)
SOURCES = ("sales", "import", SEEDED)


@dataclass
class SeasonBasis:
    sku: str
    season: int  # the Gregorian year of that season's 春节
    first_day: date | None = None
    last_day: date | None = None
    days: int = 0  # days of history within the window's offsets from 春节
    pieces: int = 0
    source_days: dict[str, int] = field(default_factory=dict)  # source -> days
    channel_pieces: dict[str, int] = field(default_factory=dict)  # channel -> pieces


@dataclass(frozen=True)
class ForecastBasis:
    start: date
    end: date
    first_offset: int  # the window, as days from 春节 (negative before)
    last_offset: int
    seasons: list[SeasonBasis]  # by product, then season
    without_history: list[str]  # products the forecast knows nothing about
    # sku -> (Chinese name, English name): the manager reads names, not codes.
    names: dict[str, tuple[str, str]] = field(default_factory=dict)

    def name_of(self, sku: str, language: str = "zh") -> str:
        zh, en = self.names.get(sku, (sku, sku))
        return en if language == "en" else zh

    def missing_names(self, language: str = "zh") -> list[str]:
        """The products without history, by name."""
        return [self.name_of(sku, language) for sku in self.without_history]

    def for_product(self, sku: str) -> list[SeasonBasis]:
        return [s for s in self.seasons if s.sku == sku]

    @property
    def products(self) -> list[str]:
        return sorted({s.sku for s in self.seasons})


def _window_offsets(start: date, end: date) -> set[int]:
    return {days_from_festival(start + timedelta(days=i)) for i in range((end - start).days + 1)}


def forecast_basis(
    session: Session, start: date, end: date, *, skus: Sequence[str] | None = None
) -> ForecastBasis:
    """The history the forecast of [start, end] draws on (every active product by default)."""
    if skus is None:
        skus = list(
            session.scalars(
                select(Item.sku)
                .where(Item.kind == ItemKind.PRODUCT, Item.active.is_(True))
                .order_by(Item.sku)
            )
        )
    offsets = _window_offsets(start, end) if end >= start else set()
    history = session.execute(
        select(Item.sku, SalesHistory.day, SalesHistory.quantity)
        .join(Item, Item.id == SalesHistory.item_id)
        .where(Item.sku.in_(list(skus)))
    ).all()
    split: dict[tuple[str, date], list[tuple[str, str, int]]] = defaultdict(list)
    for sku, day, channel, source, quantity in session.execute(
        select(
            Item.sku,
            SalesByChannel.day,
            SalesByChannel.channel,
            SalesByChannel.source,
            SalesByChannel.quantity,
        )
        .join(Item, Item.id == SalesByChannel.item_id)
        .where(Item.sku.in_(list(skus)))
    ):
        split[sku, day].append((channel, source, int(quantity)))

    seasons: dict[tuple[str, int], SeasonBasis] = {}
    for sku, day, quantity in history:
        season = festival_year_for(day)
        basis = seasons.setdefault((sku, season), SeasonBasis(sku, season))
        if days_from_festival(day) not in offsets:
            continue
        basis.first_day = min(basis.first_day or day, day)
        basis.last_day = max(basis.last_day or day, day)
        basis.days += 1
        basis.pieces += int(quantity)
        rows = split.get((sku, day), [])
        for source in sorted({s for _, s, _ in rows} or {SEEDED}):
            basis.source_days[source] = basis.source_days.get(source, 0) + 1
        for channel, _, pieces in rows:
            basis.channel_pieces[channel] = basis.channel_pieces.get(channel, 0) + pieces
    ordered = sorted(seasons.values(), key=lambda b: (b.sku, b.season))
    known = {b.sku for b in ordered}
    names = {
        sku: (zh, en)
        for sku, zh, en in session.execute(
            select(Item.sku, Item.name_zh, Item.name_en).where(Item.sku.in_(list(skus)))
        )
    }
    return ForecastBasis(
        start=start,
        end=end,
        first_offset=min(offsets, default=0),
        last_offset=max(offsets, default=0),
        seasons=ordered,
        without_history=[sku for sku in skus if sku not in known],
        names=names,
    )
