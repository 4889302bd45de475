"""The `gaogan` command's words: its messages in the operator's language (GAOGAN_LANG, else
the locale; Chinese by default, see `inventory.settings.cli_language`), from the same
catalogue as the web pages (`shop/translations/cli.json` and the message keys of refusals).

Logs stay in English (they are read by tools and by whoever debugs); help texts are Click's
docstrings, in English."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import IO, Any

import click

from inventory.errors import DomainError
from inventory.settings import cli_language
from shop.i18n import translate
from shop.messages import localise


def lang() -> str:
    return cli_language()


def say(key: str, **params: Any) -> str:
    """The text of `key` in the operator's language."""
    return translate(key, lang(), **params)


class Failure(click.ClickException):
    """A command's error in the operator's language, "错误：" rather than Click's "Error:"."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(say("cli.error", message=self.format_message()), file=file, err=True)


def refusal(exc: DomainError) -> Failure:
    """A refusal from a service as the command's error, worded like on the web."""
    return Failure(localise(exc, lang()))


def pad(text: str, columns: int) -> str:
    """`text` padded with spaces to `columns` terminal columns."""
    return text + " " * max(0, columns - width(text))


def status_word(status: str) -> str:
    """An order status: the staff's word in Chinese; the code itself in English, as the
    command always printed it."""
    return translate(f"desk.st.{status}", "zh") if lang() == "zh" else status


def fulfilment_word(fulfilment: str) -> str:
    return translate(f"desk.channel.{fulfilment}", "zh") if lang() == "zh" else fulfilment


def width(text: str) -> int:
    """Columns `text` takes in a terminal: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Rows under a header, columns padded to the widest cell (two columns per CJK
    character, so Chinese headers line up)."""
    widths = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c + " " * (w - width(c)) for c, w in zip(row, widths, strict=True))
        for row in [header, *rows]
    )
