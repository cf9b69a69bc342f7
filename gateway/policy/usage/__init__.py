"""Usage and spend: the buffered usage ledger and its aggregation."""

from __future__ import annotations

from gateway.policy.usage._budgets import BudgetGauges
from gateway.policy.usage._hook import UsageHook
from gateway.policy.usage._record import UsageRecord
from gateway.policy.usage._recorder import UsageRecorder
from gateway.policy.usage._report import GroupBy, UsageReport, UsageRow
from gateway.policy.usage._spend import SpendLedger

__all__ = [
    "BudgetGauges",
    "GroupBy",
    "SpendLedger",
    "UsageHook",
    "UsageRecord",
    "UsageRecorder",
    "UsageReport",
    "UsageRow",
]
