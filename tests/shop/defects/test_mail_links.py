"""Issue 10 item 10: links in mails follow the address the server really listens on."""

from __future__ import annotations

from pathlib import Path

from inventory.relay import relay_once
from inventory.settings import Settings, with_serving_address
from shop.app import create_app
from shop.orders.notifications import mails_in
from tests.shop.orders.conftest import Shop
from tests.shop.orders.test_store_notifications import place


def test_without_a_configured_public_url_the_serving_port_is_the_link_in_mails(
    settings: Settings, shop: Shop
) -> None:
    served = with_serving_address(settings, "127.0.0.1", 8123)
    assert served.public_url == "http://127.0.0.1:8123"
    app = create_app(served)
    app.config["TESTING"] = True
    public_id = place(shop, served)
    relay_once(shop.sessions, served)
    (mail,) = mails_in(Path(served.mail_dir))
    assert f"http://127.0.0.1:8123/track/{public_id}/" in mail["body"]
    assert ":5000" not in mail["body"]


def test_a_wildcard_bind_links_to_loopback_and_an_explicit_public_url_wins(
    settings: Settings,
) -> None:
    assert with_serving_address(settings, "0.0.0.0", 8080).public_url == "http://127.0.0.1:8080"
    configured = Settings.from_env(
        {
            "GAOGAN_ENV": "test",
            "GAOGAN_INSTANCE": str(settings.instance_path),
            "DATABASE_URL": settings.database_url,
            "GAOGAN_PUBLIC_URL": "https://gaogan.example.cn/",
        }
    )
    assert configured.public_url == "https://gaogan.example.cn"
    assert with_serving_address(configured, "127.0.0.1", 8080) is configured
