"""Recipes: what one finished piece of a product takes.

Rice and sugar in grams per piece as it leaves the cabinet; the sieving and steaming loss says
how much more rice must go through the mills; labour in minutes per piece for each hand step
(moulding, stacking); pieces per steaming tray."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.catalog import get_product
from inventory.errors import DomainError
from inventory.models import Item
from scheduling.planning.models import Recipe as RecipeRow

STEPS = ("mould", "stack")


class RecipeMissing(DomainError):
    code = "recipe_missing"
    status = 404


@dataclass(frozen=True)
class Recipe:
    sku: str
    rice_g: int
    sugar_g: int
    units_per_tray: int
    loss_fraction: float = 0.0
    labour_minutes: Mapping[str, float] = field(default_factory=dict)

    @property
    def trays_per_unit(self) -> float:
        return 1.0 / self.units_per_tray

    @property
    def gross_rice_g(self) -> float:
        """Rice (and so flour) milled per finished piece, losses included."""
        return self.rice_g / (1.0 - self.loss_fraction)

    @property
    def gross_sugar_g(self) -> float:
        return self.sugar_g / (1.0 - self.loss_fraction)


def _product(session: Session, sku: str) -> Item:
    return get_product(session, sku)


def _to_recipe(sku: str, row: RecipeRow) -> Recipe:
    return Recipe(
        sku=sku,
        rice_g=row.rice_g,
        sugar_g=row.sugar_g,
        units_per_tray=row.units_per_tray,
        loss_fraction=row.loss_fraction,
        labour_minutes=dict(row.labour_minutes or {}),
    )


def get_recipe(session: Session, sku: str) -> Recipe:
    item = _product(session, sku)
    row = session.scalar(select(RecipeRow).where(RecipeRow.item_id == item.id))
    if row is None:
        raise RecipeMissing(
            f"no recipe for {sku}: enter one before planning it", key="msg.recipe.missing", sku=sku
        )
    return _to_recipe(sku, row)


def list_recipes(session: Session) -> dict[str, Recipe]:
    rows = session.execute(
        select(Item.sku, RecipeRow).join(RecipeRow, RecipeRow.item_id == Item.id)
    )
    return {sku: _to_recipe(sku, row) for sku, row in rows}


def set_recipe(
    session: Session,
    sku: str,
    *,
    rice_g: int,
    sugar_g: int,
    units_per_tray: int,
    loss_fraction: float = 0.0,
    labour_minutes: Mapping[str, float] | None = None,
) -> Recipe:
    if rice_g < 0 or sugar_g < 0:
        raise DomainError(
            "rice and sugar per piece cannot be negative", key="msg.recipe.negative", sku=sku
        )
    if units_per_tray < 1:
        raise DomainError("a tray holds at least one piece", key="msg.recipe.tray", sku=sku)
    if not 0.0 <= loss_fraction < 1.0:
        raise DomainError("the loss must be at least 0 and below 1", key="msg.recipe.loss", sku=sku)
    labour = dict(labour_minutes or {})
    if any(m < 0 for m in labour.values()):
        raise DomainError("labour minutes cannot be negative", key="msg.recipe.labour", sku=sku)
    item = _product(session, sku)
    row = session.scalar(select(RecipeRow).where(RecipeRow.item_id == item.id))
    if row is None:
        row = RecipeRow(item_id=item.id)
        session.add(row)
    row.rice_g = rice_g
    row.sugar_g = sugar_g
    row.units_per_tray = units_per_tray
    row.loss_fraction = loss_fraction
    row.labour_minutes = labour
    session.flush()
    return _to_recipe(sku, row)
