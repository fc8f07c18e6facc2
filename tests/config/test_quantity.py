"""Kubernetes quantities read from the cluster (a ResourceQuota's status, say)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kfops.config import parse_quantity


@pytest.mark.parametrize(("text", "value"), [
    ("16", Decimal(16)), (16, Decimal(16)), ("500m", Decimal("0.5")),
    ("64Gi", Decimal(64 * 2**30)), ("1.5k", Decimal(1500)), ("1e3", Decimal(1000)),
])
def test_a_quantity_is_the_number_it_stands_for(text: str | int, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["", "lots", "-1", "16 Gi", "1Gb", True])
def test_what_is_not_a_quantity_is_none(text: str | bool) -> None:
    assert parse_quantity(text) is None
