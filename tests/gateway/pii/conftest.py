"""One Presidio set-up per test session (loading it takes seconds)."""

from __future__ import annotations

from typing import Any

import pytest

from configs import PiiSettings
from gateway.policy.pii import PiiAnalyzer, PiiService, build_presidio, reference_analyzer


@pytest.fixture(scope="session")
def pii_settings() -> PiiSettings:
    return PiiSettings()


@pytest.fixture(scope="session")
def analyzer(pii_settings: PiiSettings) -> PiiAnalyzer:
    return PiiAnalyzer(build_presidio(pii_settings), cache_entries=0)


@pytest.fixture(scope="session")
def pii_service(pii_settings: PiiSettings, analyzer: PiiAnalyzer) -> PiiService:
    return PiiService(pii_settings, analyzer)


@pytest.fixture(scope="session")
def reference(pii_settings: PiiSettings) -> Any:
    """A plain ``AnalyzerEngine`` over Presidio's default recognizers."""
    return reference_analyzer(pii_settings)
