"""Issue 10 item 7: every page each role can reach, and the messages its forms trigger, are
Chinese in Chinese mode (the default): no English sentence on any of them."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction, utcnow
from inventory.rules import local_day
from inventory.settings import Settings
from scheduling.pickup.slots import SlotRules
from shop.app import create_app
from shop.demo import DEMO_PASSWORD, load_demo
from tests.support.web import sign_in_with_password

# Three or more English words in a row is a sentence a Chinese reader was not meant to see.
ENGLISH = re.compile(r"[A-Za-z][a-z]+(?:[ ,'’-]+[A-Za-z][a-z]+){2,}")
CLI_COMMAND = re.compile(r"\bgaogan(?: [a-z]+(?: / [a-z]+)*)+")
SKIP_PREFIXES = ("/api/", "/static/", "/webhooks/", "/healthz", "/metrics", "/signout")
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
INPUT = re.compile(r"<(?:input|select|textarea)\b[^>]*\bname=\"([^\"]+)\"", re.I)


def visible_text(page: str) -> str:
    # Code (a CLI command to run, an SKU) is not prose: it is the same in every language. A
    # textarea holds what the manager typed (a product's English description), not our words.
    page = re.sub(r"<(script|style|code|pre|textarea)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<[^>]+>", " ", page)
    page = CLI_COMMAND.sub(" ", html.unescape(page))
    # A CSV header to copy ("day,sku,channel,quantity") is a format, not a sentence.
    return re.sub(r"\b\w+(?:,\w+){2,}\b", " ", page)


def english_in(page: str) -> list[str]:
    return ENGLISH.findall(visible_text(page))


@pytest.fixture
def demo_app(settings: Settings, db: sessionmaker[Session]) -> Iterator[Flask]:
    with transaction(db) as s:
        load_demo(s, local_day(utcnow()), rules=SlotRules.from_settings(settings))
    app = create_app(settings)
    app.config["TESTING"] = True
    yield app


def _pages(app: Flask) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.arguments:
            continue
        if rule.rule.startswith(SKIP_PREFIXES) or rule.rule.endswith((".csv", "/rows")):
            continue
        paths.append(rule.rule)
    return [*sorted(paths), "/products/YC-CLASSIC-250", "/no-such-page"]


def _client(app: Flask, email: str | None) -> FlaskClient:
    client = app.test_client()
    if email:
        sign_in_with_password(client, email, DEMO_PASSWORD)
    return client


HREF = re.compile(r'href="(/[^"#]*)"')
MAX_PAGES = 160


def _crawl(client: FlaskClient, paths: list[str]) -> dict[str, list[str]]:
    """Every listed page and every page linked from them (same site, breadth first)."""
    found: dict[str, list[str]] = {}
    queue, seen = list(paths), set(paths)
    while queue and len(seen) <= MAX_PAGES:
        path = queue.pop(0)
        response = client.get(path)
        if response.status_code in (301, 302, 303) or not response.mimetype.startswith("text/html"):
            continue
        page = response.get_data(as_text=True)
        for link in HREF.findall(page):
            link = html.unescape(link)
            if link not in seen and not link.startswith(SKIP_PREFIXES) and "lang=" not in link:
                seen.add(link)
                queue.append(link)
        if english := english_in(page):
            found[f"GET {path}"] = english
        found |= _submit_forms(client, path, page)
    return found


def _submit_forms(client: FlaskClient, path: str, page: str) -> dict[str, list[str]]:
    """Send every post form of the page blank (only its CSRF token): the refusals it triggers
    are what a person sees who presses the button without filling anything in."""
    found: dict[str, list[str]] = {}
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    for attrs, body in FORM.findall(page):
        if "post" not in attrs.lower():
            continue
        action = re.search(r'action="([^"]*)"', attrs)
        target = html.unescape(action.group(1)) if action else path
        if any(word in target for word in ("signout", "logout", "/cancel", "publish", "revoke")):
            continue
        data = {name: "" for name in INPUT.findall(body)}
        if token:
            data["csrf_token"] = token.group(1)
        answer = client.post(target, data=data, follow_redirects=True)
        english = english_in(answer.get_data(as_text=True))
        if answer.mimetype.startswith("text/html") and english:
            found[f"POST {target} (blank, from {path})"] = english
    return found


@pytest.mark.parametrize(
    "email",
    [None, "customer@demo.gaogan", "distributor@demo.gaogan", "manager@demo.gaogan"],
    ids=["visitor", "customer", "distributor", "manager"],
)
def test_no_english_sentence_on_any_page_or_form_message_in_chinese_mode(
    demo_app: Flask, email: str | None
) -> None:
    found = _crawl(_client(demo_app, email), _pages(demo_app))
    assert found == {}, "\n".join(f"{where}: {texts[:3]}" for where, texts in found.items())


def test_the_detector_finds_the_english_of_the_same_pages_in_english_mode(demo_app: Flask) -> None:
    client = _client(demo_app, "manager@demo.gaogan")
    assert english_in(client.get("/manager/plan/?lang=en").get_data(as_text=True))
    blank = client.post(
        "/manager/soak",
        data={"csrf_token": _token(client, "/manager/soak"), "air_temp_c": "warm"},
        follow_redirects=True,
    )
    assert "必须是数字" not in blank.get_data(as_text=True)


def _token(client: FlaskClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found
    return found.group(1)
