"""Every form on every page each role can reach, submitted with hostile values: no 5xx."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.shop.security.conftest import Shop, signed_in
from tests.shop.security.crawler import crawl, hostile_submissions

START = {
    "customer": ["/", "/cart", "/checkout", "/account"],
    "distributor": ["/distributor/", "/account"],
    "manager": [
        "/manager/plan/",
        "/manager/plan/capacity",
        "/manager/pickups/",
        "/manager/batches",
        "/manager/scheduler",
        "/manager/security/audit",
    ],
}
# Forms that end the crawler's own session; they are tested on their own elsewhere.
SKIP_ACTIONS = ("/signout",)


@pytest.mark.parametrize("role", ["customer", "distributor", "manager"])
def test_every_form_of_every_page_survives_hostile_values(
    app: Flask, shop: Shop, role: str
) -> None:
    email = getattr(shop, role)
    client, _ = signed_in(app, email)
    pages, forms = crawl(client, START[role])
    # Something in the cart (the first add-to-cart form as the page offers it), so that the
    # cart and checkout forms are on their pages too.
    for form in forms:
        if form.action == "/cart/add":
            client.post(form.action, data=form.fields)
            break
    more_pages, more_forms = crawl(client, ["/cart", "/checkout"])
    pages += more_pages
    forms += [
        f
        for f in more_forms
        if (f.method, f.action, set(f.fields))
        not in [(g.method, g.action, set(g.fields)) for g in forms]
    ]
    assert len(pages) >= 3, pages
    actions = {f.action for f in forms}
    expected = {
        "customer": {"/cart/add", "/cart/update", "/checkout"},
        "distributor": {"/distributor/bookings", "/distributor/standing", "/distributor/tokens"},
        "manager": {"/manager/plan/capacity/1", "/manager/pickups/peak", "/manager/soak"},
    }[role]
    assert expected <= actions, actions
    failures: list[str] = []
    submitted = 0
    for form in forms:
        if form.action.startswith(SKIP_ACTIONS) or form.action.startswith("/api/"):
            continue
        for data in hostile_submissions(form):
            if form.method == "post":
                response = client.post(form.action, data=data, headers={"Accept": "text/html"})
            else:
                response = client.get(
                    form.action, query_string=data, headers={"Accept": "text/html"}
                )
            submitted += 1
            if response.status_code >= 500:
                failures.append(
                    f"{form.method} {form.action} {sorted(data)} -> {response.status_code}"
                )
    assert submitted > 0
    assert not failures, "\n".join(failures[:40])
