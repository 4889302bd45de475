"""The header navigation: each area adds its entries from its own init_app.

An entry may be limited to roles: a shopper sees the shop, a distributor their portal, a
manager the consoles. Hiding a link is a courtesy, not security: every view still checks
`require_role` itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask, request

from shop.auth import current_user
from shop.i18n import current_language
from shop.models import Role


@dataclass(frozen=True)
class NavItem:
    label: str  # a translation key
    href: str
    order: int = 50
    roles: frozenset[Role] | None = None  # None: everyone, signed in or not


def add_nav(
    app: Flask, label: str, href: str, order: int = 50, roles: Iterable[Role] | None = None
) -> None:
    items: list[NavItem] = app.config.setdefault("GAOGAN_NAV", [])
    if all(i.href != href for i in items):
        items.append(NavItem(label, href, order, frozenset(roles) if roles else None))
        items.sort(key=lambda i: i.order)


def visible_items(items: Iterable[NavItem], role: Role | None) -> list[NavItem]:
    return [i for i in items if i.roles is None or (role is not None and role in i.roles)]


def init_app(app: Flask) -> None:
    def nav_items() -> list[dict[str, object]]:
        user = current_user()
        items = visible_items(app.config.get("GAOGAN_NAV", []), user.role if user else None)
        return [
            {
                "label": i.label,
                "href": i.href,
                "active": request.path == i.href
                or (i.href != "/" and request.path.startswith(i.href)),
            }
            for i in items
        ]

    def language_switch_url() -> str:
        args = request.args.to_dict()
        args["lang"] = "en" if current_language() == "zh" else "zh"
        return f"{request.path}?{urlencode(args)}"

    app.jinja_env.globals.update(nav_items=nav_items, language_switch_url=language_switch_url)
