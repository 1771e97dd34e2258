"""Subresource Integrity on cross-origin scripts and stylesheets (crawled pages)."""

from __future__ import annotations

import re

from pydantic import BaseModel

from harness.probes.crawl import Resource

_SRI = re.compile(r"^(sha256|sha384|sha512)-[A-Za-z0-9+/]+={0,2}$")


class SriIssue(BaseModel):
    page: str
    tag: str
    url: str
    problem: str

    def describe(self) -> str:
        return f"{self.page}: <{self.tag}> {self.url}: {self.problem}"


def check_resources(resources: list[Resource]) -> list[SriIssue]:
    issues: list[SriIssue] = []
    for res in resources:
        if res.same_origin:
            continue  # same-origin files are covered by the deployment, not by SRI
        if not res.integrity:
            issues.append(
                SriIssue(
                    page=res.page,
                    tag=res.tag,
                    url=res.url,
                    problem="cross-origin resource without integrity",
                )
            )
            continue
        tokens = res.integrity.split()
        if not any(_SRI.match(t.split("?")[0]) for t in tokens):
            issues.append(
                SriIssue(
                    page=res.page,
                    tag=res.tag,
                    url=res.url,
                    problem=f"integrity {res.integrity!r} has no valid sha256/384/512 digest",
                )
            )
        elif res.crossorigin is None:
            # Without crossorigin the browser cannot check the hash of a CORS response and
            # blocks the resource: a broken page, not a bypass; reported all the same.
            issues.append(
                SriIssue(
                    page=res.page,
                    tag=res.tag,
                    url=res.url,
                    problem="integrity without a crossorigin attribute",
                )
            )
    return issues
