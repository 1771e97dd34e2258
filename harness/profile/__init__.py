"""Profiles: the typed description of a target, loaded from ``harness.toml``.

``model`` holds the profile, ``sections`` its tables, ``base`` the rules every table shares
(unknown keys are errors, ``false`` means absent) and ``load`` the file and ``extends`` chains.
"""

from __future__ import annotations

from harness.profile.auth_sections import (
    AuthSettings,
    LoginCondition,
    LoginSettings,
    OAuthSettings,
    User,
)
from harness.profile.base import ProfileError
from harness.profile.load import CONFIG_NAME, find_config, load_profile, profile_names
from harness.profile.load_settings import LoadSettings
from harness.profile.model import DEFAULT_PROFILE, Profile
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

__all__ = [
    "CONFIG_NAME",
    "DEFAULT_PROFILE",
    "AuthSettings",
    "DastSettings",
    "DataStoreSettings",
    "LimitSettings",
    "LoadSettings",
    "LoginCondition",
    "LoginSettings",
    "LogSettings",
    "OAuthSettings",
    "ObservabilitySettings",
    "OperationsSettings",
    "Profile",
    "ProfileError",
    "ScopeSettings",
    "SessionSettings",
    "SloSettings",
    "TargetSettings",
    "User",
    "find_config",
    "load_profile",
    "profile_names",
]
