"""The profile: the typed description of one target, loaded from ``harness.toml``.

A profile says where the target is (or how to bring it up), how to log in, where its logs,
database and cache are, what is in scope and which controls do not apply. Suites read only
the profile and the target's own documents, never the reference app's code.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, model_validator

from harness.profile.api_section import ApiSettings
from harness.profile.auth_sections import AuthSettings
from harness.profile.base import Strict
from harness.profile.e2e_section import E2ESettings
from harness.profile.load_settings import LoadSettings
from harness.profile.resilience_section import ResilienceSettings
from harness.profile.roadmap_section import RoadmapSettings
from harness.profile.sections import (
    DastSettings,
    DataStoreSettings,
    LimitSettings,
    LogSettings,
    ObservabilitySettings,
    OperationsSettings,
    ScopeSettings,
    SessionSettings,
    SloSettings,
    TargetSettings,
)
from harness.profile.supply_chain_section import SupplyChainSettings

DEFAULT_PROFILE = "reference"
DEFAULT_LISTEN = "127.0.0.1"


class Profile(Strict):
    name: str = Field(default=DEFAULT_PROFILE, description="set from the table name")
    description: str = Field(default="", description="one line shown by `harness status`")
    provider: Literal["local", "containers", "external"] = Field(
        default="local", description="who runs the stack: local processes, containers, nobody"
    )
    stack: str = Field(
        default="bundled", description="stack definition: harness/stacks/NAME.toml or a path"
    )
    release: str = Field(default="2", description="the app release the stack starts")
    safety: Literal["safe", "intrusive"] | None = Field(
        default=None,
        description="'safe': no state-changing request outside scope.allow_writes, no brute "
        "force, no bursts, no stored payloads, passive DAST; 'intrusive': everything "
        "(default: safe for provider = 'external', intrusive for stacks the harness starts)",
    )
    listen: str = Field(
        default=DEFAULT_LISTEN,
        description="provider = 'local': the address the stack's front end listens on and its "
        "URLs use (it joins scope.allow, that address only), e.g. the address a scanner in "
        "another container can reach; HARNESS_LISTEN overrides it",
    )
    faults: list[str] = Field(
        default_factory=list, description="seeded faults to switch on (reference target only)"
    )
    env: dict[str, str] = Field(default_factory=dict, description="extra environment for the app")
    target: TargetSettings = Field(default_factory=TargetSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    session: SessionSettings = Field(default_factory=SessionSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    logs: LogSettings = Field(default_factory=LogSettings)
    datastores: DataStoreSettings = Field(default_factory=DataStoreSettings)
    scope: ScopeSettings = Field(default_factory=ScopeSettings)
    slo: SloSettings = Field(default_factory=SloSettings)
    load: LoadSettings = Field(default_factory=LoadSettings)
    dast: DastSettings = Field(default_factory=DastSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    resilience: ResilienceSettings = Field(default_factory=ResilienceSettings)
    e2e: E2ESettings = Field(default_factory=E2ESettings)
    not_applicable: dict[str, str] = Field(
        default_factory=dict, description="control id -> why it does not apply to this target"
    )
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    operations: OperationsSettings = Field(default_factory=OperationsSettings)
    supply_chain: SupplyChainSettings = Field(default_factory=SupplyChainSettings)
    roadmap: RoadmapSettings = Field(default_factory=RoadmapSettings)

    @model_validator(mode="after")
    def _external_needs_url(self) -> Profile:
        if self.provider == "external" and not self.target.base_url:
            raise ValueError("target.base_url is required when provider = 'external'")
        return self

    @model_validator(mode="after")
    def _listen_is_an_address(self) -> Profile:
        try:
            address = ipaddress.ip_address(self.listen)
        except ValueError:
            raise ValueError(f"listen = {self.listen!r}: write an IP address") from None
        if self.listen != DEFAULT_LISTEN and self.provider != "local":
            raise ValueError("listen: only provider = 'local' binds its front end elsewhere")
        # The stack's own address is the target: it is in scope, and nothing more than it.
        if not address.is_loopback and self.listen not in self.scope.allow:
            self.scope.allow.append(self.listen)
        return self

    @property
    def manages_stack(self) -> bool:
        return self.provider != "external"

    @property
    def safety_mode(self) -> Literal["safe", "intrusive"]:
        """The safety mode in force: the explicit key, else safe for targets nobody here runs."""
        if self.safety is not None:
            return self.safety
        return "safe" if self.provider == "external" else "intrusive"
