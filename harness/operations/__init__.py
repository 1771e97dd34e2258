"""One operation model for every probe and suite: see ``model.py`` (what an operation is),
``openapi.py`` (learnt from an OpenAPI document), ``crawl.py`` (learnt from crawled pages),
``values.py`` (example inputs) and ``requests.py`` (concrete requests)."""

from harness.operations.model import (
    STATE_CHANGING,
    Operation,
    Param,
    Point,
    api_prefix,
    collection_of,
    fill_path,
    points,
)
from harness.operations.openapi import Loaded, load, operations, resolve
from harness.operations.requests import (
    RequestSpec,
    build_request,
    collection_for,
    discover_ids,
    first_id,
    request_for,
)
from harness.operations.values import ValuePool, example

__all__ = [
    "STATE_CHANGING",
    "Loaded",
    "Operation",
    "Param",
    "Point",
    "RequestSpec",
    "ValuePool",
    "api_prefix",
    "build_request",
    "collection_for",
    "collection_of",
    "discover_ids",
    "example",
    "fill_path",
    "load",
    "first_id",
    "operations",
    "points",
    "request_for",
    "resolve",
]
