"""Text messages to customers: the port, the file backend (the default) and the texts.

The port is `SmsSender.send(to, text, key) -> bool`: `key` is the id of the event the message
is about, so a backend can refuse a second send of the same key (the file backend does; a
provider adapter passes it on as the provider's own idempotency/out-id field). A provider
(Aliyun, Tencent Cloud SMS ...) is an adapter registered under a name with `register_backend`
and chosen with GAOGAN_SMS_BACKEND; none ships here because each needs a signed-up account
and an approved template.

Messages are short: China's SMS gateways split and charge by 70 characters, and the link to
the status page carries the details.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from inventory.settings import Settings, public_url
from shop.i18n import translate, yuan
from shop.orders import pickup_code
from shop.orders.models import Order

log = logging.getLogger("gaogan.sms")


class SmsSender(Protocol):
    def send(self, to: str, text: str, key: str) -> bool:
        """Send one message; False if the message with this key was already sent."""
        ...


class FileSmsSender:
    """Each message as a JSON file named by its key in a folder a developer can read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, to: str, text: str, key: str) -> bool:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{key}.json"
        if target.exists():
            return False
        body = json.dumps({"to": to, "text": text, "key": key}, ensure_ascii=False)
        # Written whole or not at all, and only once even when two deliveries race: the same
        # rename-by-link as the mail files.
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body)
        try:
            os.link(tmp, target)
        except FileExistsError:
            return False
        finally:
            os.unlink(tmp)
        return True


_BACKENDS: dict[str, Callable[[Settings], SmsSender]] = {
    "file": lambda settings: FileSmsSender(Path(settings.sms_dir)),
}


def register_backend(name: str, factory: Callable[[Settings], SmsSender]) -> None:
    """A provider adapter makes itself available under `name` (GAOGAN_SMS_BACKEND)."""
    _BACKENDS[name] = factory


def sender_for(settings: Settings) -> SmsSender:
    factory = _BACKENDS.get(settings.sms_backend)
    if factory is None:
        raise ValueError(
            f"unknown SMS backend {settings.sms_backend!r}; known: {', '.join(sorted(_BACKENDS))}"
        )
    return factory(settings)


def order_text(settings: Settings, order: Order, kind: str, payload: dict[str, Any]) -> str:
    """The message for `kind` (order_confirmed, order_ready, order_cancelled, order_reduced)
    about `order`."""
    lang = order.language or "zh"
    link = f"{public_url(settings).rstrip('/')}/track/{order.public_id}/{order.access_token}"
    params: dict[str, Any] = {"id": order.public_id, "day": order.day.isoformat(), "url": link}
    key = f"sms.{kind}"
    if kind == "order_ready":
        card = pickup_code.pickup_card(order, settings)
        if card is not None:
            key = "sms.order_ready.pickup"
            params.update(
                code=card.code,
                address=card.address_zh if lang == "zh" else card.address_en,
                hours=card.hours_zh if lang == "zh" else card.hours_en,
            )
    if kind == "order_cancelled" and payload.get("reason") == "production_shortfall":
        key = "sms.order_shortfall"
    if kind == "order_reduced":
        # Short: the gateways charge by 70 characters; the status page has the detail.
        part = [p for p in payload.get("part") or [] if isinstance(p, dict)]
        params["lines"] = "，".join(
            f"{p.get('name_zh') if lang == 'zh' else p.get('name_en')} "
            f"{p.get('served')}/{p.get('ordered')}"
            for p in part
        )
        refund = int(payload.get("refund_fen") or 0)
        params["money"] = (
            translate("part.sms.refund", lang, refund=yuan(refund))
            if refund
            else translate("part.sms.pay_new_total", lang, total=yuan(order.total_fen))
        )
        key = "part.sms.order_reduced"
    return translate(key, lang, **params)


def send_order_sms(
    settings: Settings, order: Order, kind: str, event_id: str, payload: dict[str, Any]
) -> bool:
    text = order_text(settings, order, kind, payload)
    sent = sender_for(settings).send(order.contact_mobile, text, event_id)
    if sent:
        log.info("sms %s for order %s", kind, order.public_id)
    return sent


def messages_in(folder: Path) -> list[dict[str, str]]:
    """The messages the file backend wrote (for the developer CLI and tests)."""
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]
