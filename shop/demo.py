"""Demo data: a small but realistic Wanquantang catalogue, raw-material lots and planned supply
for the coming weeks, plus sign-in accounts for each role, so a newcomer's `gaogan serve`
shows a working shop. Prices are plausible shop prices, not the maker's published list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.catalog import create_product, create_raw_material
from inventory.materials import current_crop_year, receive_material
from inventory.models import Item
from inventory.rules import LOCAL_ZONE
from inventory.supply import set_planned_supply
from scheduling.pickup.slots import SlotRules
from scheduling.planning.calendar import lunar_markers
from scheduling.planning.capacity import main_profile
from scheduling.planning.demo_history import seed_recipes, seed_sales_history
from shop.auth import create_user
from shop.distributors import accounts as distributor_accounts
from shop.distributors import common, standing
from shop.distributors import prices as price_lists
from shop.models import Role

DEMO_PASSWORD = "gaogan-demo"
# Ordinary-day sales of the best seller in the demo history (pieces a day, outside the season).
EVERYDAY_SALES = 400


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


@dataclass(frozen=True)
class DemoDistributor:
    code: str
    company: str
    region: str
    address: str
    contact: str
    mobile: str
    email: str | None  # the sign-in of the distributor's staff, if the demo gives one
    slot_time: time
    cases: dict[str, int]  # the standing order, Monday to Saturday
    # Where the contact reads mail: every distributor must be reachable when a shortfall
    # cuts or cancels its booking, sign-in or not (issue 10 item 14).
    contact_email: str = ""


# Pieces per case for the distributors' bulk trade, and the case price (about 25 % off retail).
CASE_PIECES = {"YC-CLASSIC-250": 20, "YC-CLASSIC-500": 10, "YC-GIFT-1000": 4}
DISTRIBUTORS = [
    DemoDistributor(
        "TJ-HQ01",
        "红桥区鸿顺副食批发部",
        "天津市红桥区",
        "红桥区大胡同商业街 18 号",
        "王师傅",
        "13900000001",
        "distributor@demo.gaogan",
        time(6, 15),
        {"YC-CLASSIC-250": 4, "YC-CLASSIC-500": 2},
        "wang@hq01.demo.gaogan",
    ),
    DemoDistributor(
        "TJ-WQ02",
        "武清区杨村供销社",
        "天津市武清区",
        "杨村街道光明道 66 号",
        "刘经理",
        "13900000002",
        None,
        time(6, 30),
        {"YC-CLASSIC-250": 3, "YC-GIFT-1000": 2},
        "liu@wq02.demo.gaogan",
    ),
]


def latest_past_season(today: date) -> int:
    """The festival year of the last season that is over (its 元宵 has passed)."""
    year = today.year
    return year if lunar_markers(year)["yuanxiao"] < today else year - 1


def _load_planning(session: Session, today: date) -> None:
    """Recipes, the main capacity profile (plant and roster defaults) and three past seasons
    of daily sales, so the season planner has something to forecast from. The production
    calendar needs nothing stored: official holidays and make-up workdays come from the
    library until the manager overrides a day."""
    seed_recipes(session)
    main_profile(session)
    seed_sales_history(
        session,
        latest_festival_year=latest_past_season(today),
        seasons=3,
        everyday_per_product=EVERYDAY_SALES,
    )


def _load_distributors(session: Session, today: date, rules: SlotRules) -> None:
    """Two shops that collect at 06:00 with a price list and a standing order; the coming
    week's pickup slots and standing bookings are made as the scheduler's jobs would."""
    for sku, pieces in CASE_PIECES.items():
        price_lists.set_case_pack(session, sku, pieces)
    prices = {p.sku: p.price_fen for p in PRODUCTS}
    for d in DISTRIBUTORS:
        distributor = distributor_accounts.create_distributor(
            session,
            code=d.code,
            company=d.company,
            region=d.region,
            address=d.address,
            contacts=[{"name": d.contact, "phone": d.mobile, "email": d.contact_email}],
        )
        for sku, pieces in CASE_PIECES.items():
            case_price = round(prices[sku] * pieces * 0.75)
            price_lists.set_price(session, distributor.id, sku, case_price)
        standing.save_standing_order(
            session,
            distributor_id=distributor.id,
            slot_time=d.slot_time,
            weekday_lines={weekday: d.cases for weekday in range(6)},
            starts_on=today + timedelta(days=1),
        )
        if d.email:
            create_user(
                session,
                email=d.email,
                name=d.contact,
                password=DEMO_PASSWORD,
                role=Role.DISTRIBUTOR,
                mobile=d.mobile,
                distributor_id=distributor.id,
            )
    for offset in range(1, 8):
        common.day_slots(session, today + timedelta(days=offset), rules)
    standing.generate_standing_bookings(session, today, 7, rules=rules)


def load_demo(
    session: Session,
    today: date,
    *,
    days: int = 28,
    harvest_month: int = 10,
    rules: SlotRules | None = None,
) -> None:
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

    received = datetime.combine(today - timedelta(days=3), time(9, 0), LOCAL_ZONE)
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
    _load_planning(session, today)
    _load_distributors(session, today, rules or SlotRules())
