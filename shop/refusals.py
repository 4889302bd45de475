"""Refusals a person reads in Chinese or English, for the manager console's pages and APIs.

A service raises `Refused("desk.err.not_paid", ...)` with a translation key: the JSON body
then carries the message in the request's language (Chinese by default) and both texts in
`details` (`message_zh`, `message_en`), so an API client can show either. Services stay free
of Flask: the translation is looked up with an explicit language, never from the request.
"""

from __future__ import annotations

from typing import Any

from flask import Response, has_request_context
from flask_smorest import Blueprint

from inventory.errors import DomainError
from shop.field_errors import localise_fields
from shop.i18n import current_language, translate


class Refused(DomainError):
    """A refusal with a translation key; `status` defaults to 422, pass 404/409 as needed."""

    def __init__(self, key: str, *, status: int = 422, code: str = "invalid", **params: Any):
        self.params = params
        zh = translate(key, "zh", **params)
        en = translate(key, "en", **params)
        # DomainError keeps the key, so the edge (shop.messages.localise) words it too.
        super().__init__(en, key=key, message_zh=zh, message_en=en, **_plain(params))
        self.refusal_key = key
        self.status = status
        self.code = code

    @property
    def message(self) -> str:
        lang = current_language() if has_request_context() else "en"
        return translate(self.refusal_key, lang, **self.params)

    @message.setter
    def message(self, value: str) -> None:  # DomainError.__init__ assigns it
        pass


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, int | str | float | bool) else str(v) for k, v in params.items()}


def bilingual_validation_errors(blp: Blueprint) -> None:
    """A body or query that fails its schema is a 422 whose message says so in both
    languages, with the per-field messages in the reader's language in `details.fields`
    (and with their codes in `details.field_errors`)."""

    from shop.errors import error_response

    @blp.errorhandler(422)
    def _invalid(exc: Any) -> tuple[Response, int]:
        data = getattr(exc, "data", None)
        messages = data.get("messages", {}) if isinstance(data, dict) else {}
        fields, field_errors = localise_fields(messages, current_language())
        return error_response(
            422,
            "invalid_input",
            translate("console.err.invalid_input"),
            fields=fields,
            field_errors=field_errors,
            message_zh=translate("console.err.invalid_input", "zh"),
            message_en=translate("console.err.invalid_input", "en"),
        )
