"""Issue 10 item 9: on a 390 px phone the 21 day cells of the product page do not overflow."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from tests.shop.orders.conftest import LiveServer, Shop, serve

pytestmark = pytest.mark.browser

# Each cell and each line of text in it: how far its content reaches past its own box.
OVERFLOW = """
return Array.from(document.querySelectorAll('.calendar .day')).map(function (cell) {
  var spans = Array.from(cell.querySelectorAll('span'));
  var worst = Math.max(cell.scrollWidth - cell.clientWidth,
    ...spans.map(function (s) { return s.scrollWidth - s.clientWidth; }));
  var box = cell.getBoundingClientRect();
  return [cell.dataset.day, worst, Math.round(box.width), Math.round(box.right)];
});
"""


@pytest.fixture
def live(app: Flask, shop: Shop) -> Iterator[LiveServer]:
    yield from serve(app)


def test_no_day_cell_of_the_product_calendar_overflows_on_a_390px_phone(
    browser: object, live: LiveServer, tmp_path: Path
) -> None:
    # Headless Chromium keeps a window at least 500 px wide whatever --window-size says: the
    # phone's viewport is set through the DevTools protocol, as the device toolbar does.
    browser.execute_cdp_cmd(  # type: ignore[attr-defined]
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
    browser.get(f"{live.url}/products/GG-CLASSIC")  # type: ignore[attr-defined]
    cells = browser.execute_script(OVERFLOW)  # type: ignore[attr-defined]
    width = browser.execute_script("return document.documentElement.clientWidth")  # type: ignore[attr-defined]
    shot = Path(os.environ.get("GAOGAN_SCREENSHOT_DIR", tmp_path)) / "product-390.png"
    browser.save_screenshot(str(shot))  # type: ignore[attr-defined]
    assert width == 390
    assert len(cells) == 21
    overflowing = [c for c in cells if c[1] > 0]
    assert overflowing == [], f"cells whose text overflows (day, px, width, right): {overflowing}"
    assert all(c[3] <= width for c in cells), "a cell reaches past the screen"
