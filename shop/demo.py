"""Demo data: a small but realistic Wanquantang catalogue, raw-material lots and planned supply
for the coming weeks, plus sign-in accounts for each role, so a newcomer's `gaogan serve`
shows a working shop. Prices are plausible shop prices, not the maker's published list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.catalog import create_product, create_raw_material
from inventory.materials import current_crop_year, receive_material
from inventory.models import Item
from inventory.settings import TIMEZONE
from inventory.supply import set_planned_supply
from shop.auth import create_user
from shop.models import Role

LOCAL = ZoneInfo(TIMEZONE)
DEMO_PASSWORD = "gaogan-demo"


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name_zh: str
    name_en: str
    price_fen: int
    pack_size_g: int
    freshness_days: int
    best_before_days: int
    daily_planned: int
    description_zh: str
    description_en: str


PRODUCTS = [
    DemoProduct(
        "YC-CLASSIC-250",
        "杨村糕干·原味 250克",
        "Yangcun gaogan, classic, 250 g",
        1280,
        250,
        2,
        7,
        600,
        "新米、绵白糖、水，三样原料，凌晨四点石磨现做。",
        "New-crop rice, soft white sugar and water, stone-milled and steamed from 4 a.m.",
    ),
    DemoProduct(
        "YC-CLASSIC-500",
        "杨村糕干·原味 500克",
        "Yangcun gaogan, classic, 500 g",
        2280,
        500,
        2,
        7,
        300,
        "家庭装，两块一叠，手工码放。",
        "Family pack, stacked two by two by hand.",
    ),
    DemoProduct(
        "YC-PURPLE-250",
        "紫薯糕干 250克",
        "Purple sweet potato gaogan, 250 g",
        1580,
        250,
        2,
        7,
        150,
        "零添加紫薯粉的新口味。",
        "A new flavour with zero-additive purple sweet potato powder.",
    ),
    DemoProduct(
        "YC-PUMPKIN-250",
        "南瓜糕干 250克",
        "Pumpkin gaogan, 250 g",
        1580,
        250,
        2,
        7,
        150,
        "零添加南瓜粉的新口味。",
        "A new flavour with zero-additive pumpkin powder.",
    ),
    DemoProduct(
        "YC-GIFT-1000",
        "非遗礼盒 1000克",
        "Heritage gift box, 1 kg",
        8800,
        1000,
        2,
        7,
        80,
        "天津市非物质文化遗产，春节送礼之选。",
        "Tianjin intangible cultural heritage: the Spring Festival gift.",
    ),
]


def demo_loaded(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Item)))


def load_demo(session: Session, today: date, *, days: int = 28, harvest_month: int = 10) -> None:
    """Fill an empty database. The caller owns the transaction."""
    for p in PRODUCTS:
        create_product(
            session,
            p.sku,
            p.name_zh,
            p.name_en,
            p.price_fen,
            p.pack_size_g,
            p.freshness_days,
            p.best_before_days,
            description_zh=p.description_zh,
            description_en=p.description_en,
        )
    create_raw_material(session, "RICE", "rice", "新米（粳米）", "New-crop rice")
    create_raw_material(session, "SUGAR", "sugar", "绵白糖", "Soft white sugar")
    create_raw_material(session, "BAG-250", "packaging", "枕式包装袋", "Pillow-pack bag")

    received = datetime.combine(today - timedelta(days=3), time(9, 0), LOCAL)
    crop = current_crop_year(today, harvest_month)
    receive_material(
        session,
        "RICE",
        2_000_000,
        lot_code=f"RICE-{crop}-WQ-01",
        received_at=received,
        crop_year=crop,
        supplier="武清区杨村粮站",
        best_before=today + timedelta(days=180),
    )
    receive_material(
        session,
        "RICE",
        300_000,
        lot_code=f"RICE-{crop - 1}-WQ-07",
        received_at=received,
        crop_year=crop - 1,
        supplier="武清区杨村粮站",
        best_before=today + timedelta(days=30),
    )
    receive_material(
        session,
        "SUGAR",
        500_000,
        lot_code="SUGAR-01",
        received_at=received,
        supplier="天津糖业",
        best_before=today + timedelta(days=365),
    )
    receive_material(
        session, "BAG-250", 20_000, lot_code="BAG-01", received_at=received, supplier="武清包装厂"
    )

    planned = {
        (p.sku, today + timedelta(days=d)): p.daily_planned for p in PRODUCTS for d in range(days)
    }
    set_planned_supply(session, "demo", planned)

    create_user(
        session,
        email="manager@demo.gaogan",
        name="张经理",
        password=DEMO_PASSWORD,
        role=Role.MANAGER,
    )
    create_user(
        session,
        email="customer@demo.gaogan",
        name="李女士",
        password=DEMO_PASSWORD,
        role=Role.CUSTOMER,
        mobile="13800000000",
    )
