"""API-01 and API-02: property-based fuzzing of every documented operation (Schemathesis)."""

from __future__ import annotations

import pytest

from harness.api.model import Campaign
from harness.api.verdict import judge

pytestmark = pytest.mark.stack


@pytest.mark.control("API-01")
def test_no_server_errors_under_fuzzing(api_campaign: Campaign, evidence) -> None:
    judge(api_campaign, "API-01", evidence, "no server error")


@pytest.mark.control("API-02")
def test_responses_conform_to_the_document(api_campaign: Campaign, evidence) -> None:
    judge(api_campaign, "API-02", evidence, "every response conforms to the document")
