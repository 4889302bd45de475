"""Catalogue rules as plain functions over plain values."""

from __future__ import annotations

import re

CHANNELS = ("shop", "distributor")
SKU = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,39}$")
IMAGE_TYPES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpg", b"RIFF": "webp"}
MAX_IMAGE_BYTES = 900 * 1024  # under the app's 1 MB request limit, form fields included


def image_kind(head: bytes) -> str | None:
    """The picture's type from its first bytes (never from the name the browser sent)."""
    for magic, kind in IMAGE_TYPES.items():
        if head.startswith(magic):
            if kind == "webp" and head[8:12] != b"WEBP":
                return None
            return kind
    return None


def clean_channels(values: list[str]) -> str:
    """The channels a product is sold on, in a fixed order; '' when none is valid."""
    return ",".join(c for c in CHANNELS if c in set(values))
