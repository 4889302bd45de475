"""Reading a CSV of past seasons, as plain functions over plain values: every row is checked
and a file with any bad row is refused whole, each error naming its row."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from scheduling.planning.sales_feed import CHANNELS, Sale

HEADER = ("day", "sku", "channel", "quantity")
MAX_ROWS = 20_000
MAX_QUANTITY = 1_000_000


@dataclass(frozen=True)
class RowError:
    row: int  # the line in the file; the header is row 1
    key: str  # translation key of the reason
    value: str


@dataclass(frozen=True)
class Parsed:
    sales: list[Sale]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.sales)


def parse(text: str, *, known_skus: Collection[str], today: date) -> Parsed:
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or tuple(h.strip().lower() for h in header) != HEADER:
        return Parsed([], [RowError(1, "hist.err.header", ",".join(header or []))])
    sales: list[Sale] = []
    errors: list[RowError] = []
    seen: set[tuple[date, str, str]] = set()
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            errors.append(RowError(number, "hist.err.too_many", str(MAX_ROWS)))
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(HEADER):
            errors.append(RowError(number, "hist.err.columns", ",".join(row)[:60]))
            continue
        raw_day, sku, channel, raw_quantity = (cell.strip() for cell in row)
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            errors.append(RowError(number, "hist.err.day", raw_day[:30]))
            continue
        if day > today:
            errors.append(RowError(number, "hist.err.future", raw_day))
            continue
        if sku not in known_skus:
            errors.append(RowError(number, "hist.err.sku", sku[:40]))
            continue
        if channel not in CHANNELS:
            errors.append(RowError(number, "hist.err.channel", channel[:30]))
            continue
        if not raw_quantity.isdigit() or int(raw_quantity) > MAX_QUANTITY:
            errors.append(RowError(number, "hist.err.quantity", raw_quantity[:30]))
            continue
        if (day, sku, channel) in seen:
            errors.append(RowError(number, "hist.err.duplicate", f"{raw_day} {sku} {channel}"))
            continue
        seen.add((day, sku, channel))
        sales.append(Sale(day, sku, channel, int(raw_quantity)))
    if not sales and not errors:
        errors.append(RowError(2, "hist.err.empty", ""))
    return Parsed(sales, errors)
