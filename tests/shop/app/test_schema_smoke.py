from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker


def test_every_inventory_table_is_created(db: sessionmaker[Session]) -> None:
    with db() as s:
        names = set(inspect(s.get_bind()).get_table_names())
    assert {
        "items",
        "lots",
        "stock_ledger",
        "supply",
        "reservations",
        "claims",
        "claim_lots",
        "outbox",
        "inbox",
    } <= names
