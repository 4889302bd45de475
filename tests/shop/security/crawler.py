"""A crawler for the in-process app: follows same-site links from a start page, collects every
form, and submits each with hostile values. Used by the form crawl test and by the browser
walk (which only needs the page list)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from flask.testing import FlaskClient

# Links that would end the crawl's own session or are not pages.
SKIP_PREFIXES = ("/signout", "/api/", "/static/", "/webhooks/", "/healthz")
HOSTILE_VALUES = (
    "99999999999999999999",
    "-99999999999999999999",
    "9999-12-31",
    "0001-01-01",
    "abc\x00def",
    "x" * 20_000,
    "",
    "not a number",
    "-1",
    "1e309",
    "nan",
    "<script>alert(1)</script>",
)


@dataclass
class Form:
    page: str
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[tuple[str, str, dict[str, str]]] = []
        self._form: tuple[str, str, dict[str, str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = (a.get("action", ""), a.get("method", "get").lower(), {})
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "textarea", "select") and a.get("name"):
            if a.get("type") in ("submit", "button", "image"):
                return
            if a.get("type") in ("radio", "checkbox"):
                # The first choice the page offers (a disabled day is not one).
                if "disabled" not in a:
                    self._form[2].setdefault(a["name"], a.get("value", "on"))
                return
            self._form[2][a["name"]] = a.get("value", "")
            if tag == "select":
                self._select = a["name"]
        elif tag == "option" and self._form is not None and self._select:
            self._form[2].setdefault(self._select, a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def _shape(path: str) -> tuple[str, frozenset[str]]:
    """A page's path and query names: the week after next is the same page as next week."""
    parts = urlsplit(path)
    names = frozenset(p.split("=", 1)[0] for p in parts.query.split("&") if p)
    return parts.path, names


def crawl(client: FlaskClient, start: list[str], limit: int = 120) -> tuple[list[str], list[Form]]:
    """Pages reachable from `start` (GET, same site) and the forms on them, one form per
    (method, action, field names)."""
    seen: set[tuple[str, frozenset[str]]] = set()
    form_shapes: set[tuple[str, str, frozenset[str]]] = set()
    pages: list[str] = []
    forms: list[Form] = []
    queue = deque(start)
    while queue and len(pages) < limit:
        path = queue.popleft()
        if _shape(path) in seen:
            continue
        seen.add(_shape(path))
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code < 500, (path, response.status_code)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        pages.append(path)
        parser = _PageParser()
        parser.feed(response.get_data(as_text=True))
        for href in parser.links:
            target = urljoin(path, href)
            parts = urlsplit(target)
            if parts.netloc or parts.scheme not in ("", "http", "https"):
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if "lang=" in local or local.startswith(SKIP_PREFIXES):
                continue
            queue.append(local)
        for action, method, fields in parser.forms:
            target = urlsplit(urljoin(path, action or path))
            shape = (method, target.path, frozenset(fields))
            if shape not in form_shapes:
                form_shapes.add(shape)
                forms.append(Form(path, target.path, method, dict(fields)))
    return pages, forms


def hostile_submissions(form: Form) -> list[dict[str, str]]:
    """Every field set to each hostile value in turn (the CSRF token kept valid)."""
    result = []
    for value in HOSTILE_VALUES:
        data = {
            name: (original if name == "csrf_token" else value)
            for name, original in form.fields.items()
        }
        result.append(data)
    return result
