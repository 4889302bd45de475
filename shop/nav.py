"""The header navigation: each area adds its entry from its own init_app."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask, request

from shop.i18n import current_language


@dataclass(frozen=True)
class NavItem:
    label: str  # a translation key
    href: str
    order: int = 50


def add_nav(app: Flask, label: str, href: str, order: int = 50) -> None:
    items: list[NavItem] = app.config.setdefault("GAOGAN_NAV", [])
    if all(i.href != href for i in items):
        items.append(NavItem(label, href, order))
        items.sort(key=lambda i: i.order)


def init_app(app: Flask) -> None:
    def nav_items() -> list[dict[str, object]]:
        items: list[NavItem] = app.config.get("GAOGAN_NAV", [])
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
