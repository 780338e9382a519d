"""Simulator configuration: delays, lifetimes, limits, seed data and faults."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from ksef_tui.sim.clock import Clock, SystemClock
from ksef_tui.sim.limits import PROFILES, Limit


@dataclass
class Faults:
    """Injected misbehaviour (all off by default). Parsed from ``--faults`` by :func:`parse_faults`."""

    latency: float = 0.0  # seconds added to every /v2 request
    error500: float = 0.0  # share of /v2 requests answered 500
    error503: float = 0.0  # share of /v2 requests answered 503
    force429: set[str] = field(default_factory=set)  # rate-limit groups that always answer 429 ("*" = all)
    maintenance: bool = False  # every /v2 request answers 503
    # Share of /v2 requests whose connection is dropped without an answer: half of them before the request is
    # handled, half after (the work is done, the answer is lost: what an exactly-once client must survive).
    drop: float = 0.0
    # Share of rate-limited requests that start a burst: this and the next requests of the same group, ``burst_length``
    # in all, answer 429 with Retry-After 1 (as a busy KSeF does), then the group works again.
    burst429: float = 0.0
    burst_length: int = 3


def parse_faults(spec: str) -> Faults:
    """``latency=0.2,error500=0.1,error503=0.05,force429=invoiceMetadata+other,maintenance=1,drop=0.05,
    burst429=0.02,burst_length=3``."""
    faults = Faults()
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, value = item.partition("=")
        name = name.strip()
        if name == "latency":
            faults.latency = float(value)
        elif name == "error500":
            faults.error500 = float(value)
        elif name == "error503":
            faults.error503 = float(value)
        elif name == "force429":
            faults.force429 = {g for g in value.split("+") if g}
        elif name in ("drop", "burst429"):
            setattr(faults, name, float(value))
        elif name == "burst_length":
            faults.burst_length = int(value)
        elif name == "maintenance":
            faults.maintenance = value.strip().lower() not in ("0", "false", "no", "off", "")
        else:
            raise ValueError(f"unknown fault {name!r}")
    return faults


@dataclass
class SimConfig:
    clock: Clock = field(default_factory=SystemClock)
    seed: int = 1
    seed_purchases: int = 24
    limits: str | dict[str, Limit] = "prod"
    # PRD accepts FA (3); TE also FA (2), echoes X-Test-System-Warning, serves /testdata, accepts self-signed
    # certificates for XAdES and SHA-1 in signatures
    environment: str = "PRD"
    extra_fields: bool = False  # add an unknown property to JSON answers (clients must ignore it)
    receiver_name: str = "Ministerstwo Finansów"
    # Auth
    challenge_ttl: float = 600.0
    challenge_single_use: bool = True
    auth_delay: float = 0.5  # seconds an auth operation stays at status 100
    auth_token_ttl: float = 2700.0
    access_token_ttl: float = 900.0
    refresh_token_ttl: float = 7 * 86_400.0
    auth_retention: float = 7 * 86_400.0  # then GET /auth/{ref} answers 410
    jwt_issuer: str = "ksef-api-sim"
    # XAdES login (CERTS_OFFLINE §1, §2, §7)
    xades_delay: float = 0.0  # extra seconds a XAdES login stays at 100 (the OCSP/CRL wait of DEMO/PRD)
    # "enforce": a signature without XAdES properties is 9105; "warn": accepted with X-System-Warning [sig-001]
    # unless the request says X-KSeF-Feature: enforce-xades-compliance
    xades_profile: str = "enforce"
    # Issuers trusted besides the simulator's CA (the EU trusted list's stand-in); on PRD only certificates of
    # these and of the simulator's CA log in (others: 21115), on TE also self-signed ones unless
    # verifyCertificateChain=true (then 460)
    trusted_issuers: list[x509.Certificate] = field(default_factory=list)
    # Logging in with an Offline KSeF certificate: "460" (status 460 "Niepoprawny certyfikat") or "21115" (400)
    offline_certificate_login: str = "460"
    # Permissions and KSeF certificates (CERTS_OFFLINE §3, §4)
    permission_delay: float = 0.3  # a grant or revocation operation stays at 100
    certificate_delay: float = 0.5  # an enrollment stays at 100
    certificate_revocation_delay: float = 0.5  # Blocked -> Revoked
    certificate_validity_days: int = 730
    enrollment_limits: dict[str, int] = field(default_factory=lambda: {"Nip": 300, "Pesel": 12, "Fingerprint": 12})
    certificate_limits: dict[str, int] = field(default_factory=lambda: {"Nip": 100, "Pesel": 6, "Fingerprint": 6})
    operation_retention: float = 30 * 86_400.0  # enrollment and permission-operation statuses, then 410
    # Tokens
    token_activation_delay: float = 1.0
    token_revocation_delay: float = 1.0
    # Sessions
    session_ttl: float = 12 * 3600.0
    invoice_queue_delay: float = 0.3  # 100 -> 150
    invoice_processing_delay: float = 0.5  # 150 -> final
    permanent_storage_delay: float = 1.0  # acquisitionDate -> permanentStorageDate
    session_close_delay: float = 0.5  # 170 -> final
    session_invoice_limit: int = 10_000
    upo_url_ttl: float = 3 * 86_400.0
    hwm_lag: float = 1.0  # permanentStorageHwmDate trails "now" by this much
    # Receiving
    metadata_row_cap: int = 10_000
    # Exports
    export_delay: float = 0.5
    export_part_size: int = 50_000_000
    export_row_cap: int = 10_000
    export_retention: float = 7 * 86_400.0
    export_concurrency: int = 10
    # Availability (CERTS_OFFLINE §6): Retry-After of a /v2 refused during a failure or an unannounced outage
    unavailable_retry_after: int = 60
    # Faults
    faults: Faults = field(default_factory=Faults)
    # Keys: RSA key size of the simulator's own certificates
    rsa_key_size: int = 2048
    # Planned-rotation mode: two certificates per usage with different validFrom (both work).
    key_rotation: bool = False

    def limit_table(self) -> dict[str, Limit]:
        if isinstance(self.limits, str):
            if self.limits not in PROFILES:
                raise ValueError(f"unknown limits profile {self.limits!r}")
            return dict(PROFILES[self.limits])
        return dict(self.limits)
