"""TLS configuration through sslyze: versions, ciphers against Mozilla's intermediate profile,
the certificate chain against the stack's own CA.

Mozilla's profile data is the copy sslyze ships (``mozilla_tls_profile/5.7.json``), so the
cipher list is the tool's, not one typed in here. sslyze needs nothing from the internet.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from harness.scope import ScopeGuard, open_connection

LEGACY = ("ssl_2_0", "ssl_3_0", "tls_1_0", "tls_1_1")
MODERN = ("tls_1_2", "tls_1_3")


def _label(version: str) -> str:
    name, major, minor = version.split("_")
    return f"{name.upper()} {major}.{minor}"


class TlsReport(BaseModel):
    host: str
    port: int
    sni: str | None
    accepted: dict[str, list[str]] = Field(default_factory=dict)  # version -> IANA names
    chain_trusted: bool | None = None
    chain_detail: str = ""
    hostname_matches: bool | None = None
    errors: list[str] = Field(default_factory=list)

    def problems(self, allowed_ciphers: set[str]) -> list[str]:
        where = f"{self.host}:{self.port}"
        out: list[str] = []
        for version in LEGACY:
            if self.accepted.get(version):
                out.append(
                    f"{where} accepts {_label(version)} "
                    f"({len(self.accepted[version])} cipher suites, e.g. "
                    f"{self.accepted[version][0]})"
                )
        if not any(self.accepted.get(v) for v in MODERN):
            out.append(f"{where} accepts neither TLS 1.2 nor TLS 1.3")
        for version in MODERN:
            outside = [c for c in self.accepted.get(version, []) if c not in allowed_ciphers]
            if outside:
                out.append(
                    f"{where} {version}: cipher suites outside Mozilla intermediate: "
                    f"{', '.join(outside[:8])}"
                )
        if self.chain_trusted is False:
            out.append(
                f"{where}: certificate chain not trusted by the stack CA ({self.chain_detail})"
            )
        return out


def mozilla_intermediate() -> set[str]:
    import sslyze

    path = Path(sslyze.__file__).parent / "mozilla_tls_profile" / "5.7.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    config = data["configurations"]["intermediate"]
    return set(config["ciphers"]["iana"]) | set(config["ciphersuites"])


def scan(url: str, ca_file: str | None, *, guard: ScopeGuard, sni: str | None = None) -> TlsReport:
    """Run sslyze on the host:port of ``url``. Raises RuntimeError when it cannot connect.

    sslyze opens its own sockets, so the URL passes the scope guard before it is handed over.
    """
    guard.check(url)
    from sslyze import (
        CertificateInfoExtraArgument,
        ScanCommand,
        ScanCommandAttemptStatusEnum,
        ScanCommandsExtraArguments,
        Scanner,
        ServerNetworkConfiguration,
        ServerNetworkLocation,
        ServerScanRequest,
        ServerScanStatusEnum,
    )

    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 443
    report = TlsReport(host=host, port=port, sni=sni or host)
    location = ServerNetworkLocation(
        hostname=host, port=port, ip_address=host if host.replace(".", "").isdigit() else None
    )
    extra = ScanCommandsExtraArguments()
    if ca_file:
        extra = ScanCommandsExtraArguments(
            certificate_info=CertificateInfoExtraArgument(custom_ca_file=Path(ca_file))
        )
    commands = {
        ScanCommand.SSL_2_0_CIPHER_SUITES,
        ScanCommand.SSL_3_0_CIPHER_SUITES,
        ScanCommand.TLS_1_0_CIPHER_SUITES,
        ScanCommand.TLS_1_1_CIPHER_SUITES,
        ScanCommand.TLS_1_2_CIPHER_SUITES,
        ScanCommand.TLS_1_3_CIPHER_SUITES,
        ScanCommand.CERTIFICATE_INFO,
    }
    request = ServerScanRequest(
        server_location=location,
        network_configuration=ServerNetworkConfiguration(
            tls_server_name_indication=sni or host, network_timeout=5, network_max_retries=1
        ),
        scan_commands=commands,
        scan_commands_extra_arguments=extra,
    )
    scanner = Scanner(per_server_concurrent_connections_limit=4, concurrent_server_scans_limit=1)
    scanner.queue_scans([request])
    result = next(iter(scanner.get_results()))
    if result.scan_status != ServerScanStatusEnum.COMPLETED:
        raise RuntimeError(
            f"sslyze could not connect to {host}:{port}: "
            f"{result.connectivity_error_trace or result.connectivity_status}"
        )
    attempts: Any = result.scan_result
    for version in (*LEGACY, *MODERN):
        attempt = getattr(attempts, f"{version}_cipher_suites")
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED:
            report.errors.append(f"{version}: {attempt.error_reason} {attempt.error_trace}"[:300])
            continue
        report.accepted[version] = [
            c.cipher_suite.name for c in attempt.result.accepted_cipher_suites
        ]
    cert = attempts.certificate_info
    if cert.status == ScanCommandAttemptStatusEnum.COMPLETED:
        deployments = cert.result.certificate_deployments
        validations = [v for d in deployments for v in d.path_validation_results]
        custom = [
            v
            for v in validations
            if "custom" in v.trust_store.name.lower()
            or (ca_file and str(v.trust_store.path) == str(Path(ca_file)))
        ]
        relevant = custom or validations
        report.chain_trusted = any(v.was_validation_successful for v in relevant)
        report.chain_detail = "; ".join(
            f"{v.trust_store.name}: {'ok' if v.was_validation_successful else v.validation_error}"
            for v in relevant
        )[:600]
        if (
            not report.chain_trusted
            and "subjectAltName" in report.chain_detail
            and host.replace(".", "").replace(":", "").isalnum()
            and not host[0].isalpha()
        ):
            report.chain_trusted, detail = verify_with_python(host, port, ca_file, guard)
            report.chain_detail += f"; sslyze cannot match IP SANs, so: {detail}"
        report.hostname_matches = any(
            getattr(d, "leaf_certificate_subject_matches_hostname", True) for d in deployments
        )
    else:
        report.errors.append(f"certificate_info: {cert.error_reason}")
    return report


def verify_with_python(
    host: str, port: int, ca_file: str | None, guard: ScopeGuard
) -> tuple[bool, str]:
    """Chain and name check with Python's ssl (which matches IP-address SANs, sslyze 6 does
    not: it compares the address with DNS names only)."""
    import ssl

    context = (
        ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
    )
    try:
        with (
            open_connection(guard, host, port, 5) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            cipher = tls.cipher()
            return True, f"verified by Python ssl ({tls.version()}, {cipher[0] if cipher else '?'})"
    except (ssl.SSLError, OSError) as exc:
        return False, f"Python ssl: {exc}"
