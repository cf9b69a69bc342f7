"""Usage and spend: prices, the buffered usage ledger and its aggregation."""

from __future__ import annotations

from gateway.usage._hook import UsageHook
from gateway.usage._prices import Price, PriceBook
from gateway.usage._record import UsageRecord
from gateway.usage._recorder import UsageRecorder
from gateway.usage._report import GroupBy, UsageReport, UsageRow
from gateway.usage._spend import SpendLedger

__all__ = [
    "GroupBy",
    "Price",
    "PriceBook",
    "SpendLedger",
    "UsageHook",
    "UsageRecord",
    "UsageRecorder",
    "UsageReport",
    "UsageRow",
]
