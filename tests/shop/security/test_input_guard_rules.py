"""The input boundary's rules on their own (no database, no app): any value is either
accepted or refused with InputRefused, never another exception, and the bounds are exact."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shop.security.input_guard import (
    INT_MAX,
    INT_MIN,
    MAX_DEPTH,
    InputRefused,
    check_json_depth,
    check_json_value,
    check_scalar_text,
)

documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(document=documents)
def test_any_document_is_accepted_or_refused_cleanly(document: Any) -> None:
    raw = json.dumps(document).encode()
    try:
        check_json_depth(raw)
        check_json_value(document)
    except InputRefused as exc:
        assert exc.code and exc.key.startswith("input.")


@settings(max_examples=300, deadline=None)
@given(value=st.text(), numeric=st.booleans(), identifier=st.booleans())
def test_any_form_or_query_value_is_accepted_or_refused_cleanly(
    value: str, numeric: bool, identifier: bool
) -> None:
    try:
        check_scalar_text(value, "form.x", numeric=numeric, identifier=identifier)
    except InputRefused as exc:
        assert exc.code


def test_the_bounds_are_exact() -> None:
    check_json_value({"n": INT_MAX, "m": INT_MIN, "day": "2100-12-31", "year": 2000})
    for bad in ({"n": INT_MAX + 1}, {"m": INT_MIN - 1}, {"day": "2101-01-01"}, {"year": 1999}):
        with pytest.raises(InputRefused):
            check_json_value(bad)
    check_json_depth(("[" * MAX_DEPTH + "]" * MAX_DEPTH).encode())
    with pytest.raises(InputRefused):
        check_json_depth(("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).encode())
    # Brackets inside strings are text, not nesting.
    check_json_depth(json.dumps({"note": "[" * 100}).encode())


def test_free_text_digits_are_not_numbers_but_still_text_checked() -> None:
    check_scalar_text("13800138000", "form.mobile", numeric=False)
    check_scalar_text("nan", "form.name", numeric=False)
    with pytest.raises(InputRefused):
        check_scalar_text("13800138000", "form.mills")
    with pytest.raises(InputRefused):
        check_scalar_text("a\x00", "form.name", numeric=False)
    with pytest.raises(InputRefused):
        check_scalar_text("abc", "form.distributor_id", identifier=True)
