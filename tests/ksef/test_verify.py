"""Token verification (`services.verify`) against the simulator: every verdict has its own message."""

from __future__ import annotations

import pytest

from ksef_tui.errors import EXIT_CODES, Category
from ksef_tui.ksef.auth import MemorySessionStore, TokenAuth
from ksef_tui.ksef.errors import AuthenticationFailed
from ksef_tui.services.verify import Verification, auth_failure_reason, verify

from ..conftest import Sim, make_api


async def run(
    sim: Sim, token: str, *, nip: str | None = None, store: MemorySessionStore | None = None, fresh: bool = True
) -> Verification:
    profile = sim.profile(nip)
    api = make_api(profile.base_url, token, profile.nip, store=store)
    try:
        return await verify(profile, token, api, fingerprint="abcd1234", fresh=fresh)
    finally:
        await api.http.aclose()


def names(result: Verification) -> list[tuple[str, bool]]:
    return [(step.name, step.ok) for step in result.steps]


async def test_full_token_passes_every_step(sim: Sim) -> None:
    result = await run(sim, sim.tokens["full"])
    assert names(result) == [
        ("token_shape", True),
        ("ksef_reachable", True),
        ("challenge", True),
        ("token_accepted", True),
        ("permissions", True),
    ]
    assert result.ok
    assert result.exit_code == 0
    assert {"InvoiceRead", "InvoiceWrite"} <= set(result.permissions)
    data = result.to_json()
    assert data["token_fingerprint"] == "abcd1234"
    assert sim.tokens["full"].split("|")[2] not in str(data)


@pytest.mark.parametrize(
    ("name", "missing"),
    [("read_only", "invoice issuing (InvoiceWrite)"), ("write_only", "invoice access (InvoiceRead)")],
)
async def test_missing_role_is_named_with_how_to_add_it(sim: Sim, name: str, missing: str) -> None:
    result = await run(sim, sim.tokens[name])
    assert result.exit_code == EXIT_CODES[Category.PERMISSIONS] == 5
    last = result.steps[-1]
    assert (last.name, last.ok) == ("permissions", False)
    assert last.detail == f"the token lacks permissions: {missing}"
    assert "Uprawnienia → Zarządzaj uprawnieniami" in last.hint


@pytest.mark.parametrize(
    ("name", "detail"),
    [("revoked", "the token has been revoked"), ("inactive", "the token is not active yet")],
)
async def test_rejected_tokens(sim: Sim, name: str, detail: str) -> None:
    result = await run(sim, sim.tokens[name])
    assert result.exit_code == EXIT_CODES[Category.AUTH] == 2
    assert names(result)[-1] == ("token_accepted", False)
    assert result.steps[-1].detail == detail


async def test_token_of_another_company_is_caught_before_any_call(sim: Sim) -> None:
    before = sim.stats()["calls"]
    result = await run(sim, sim.tokens["other_nip"])
    assert names(result) == [("token_shape", False)]
    assert result.exit_code == EXIT_CODES[Category.CONFIG] == 4
    assert result.steps[0].detail.startswith("the token was generated for NIP 9512345675")
    assert sim.stats()["calls"] == before


async def test_server_side_wrong_context_is_its_own_verdict(sim: Sim) -> None:
    """Bypassing our local check, KSeF itself refuses a token in another company's context."""
    api = make_api(sim.base_url, sim.tokens["other_nip"], sim.nip)
    auth = api.auth
    assert isinstance(auth, TokenAuth)
    with pytest.raises(AuthenticationFailed) as info:
        await auth.authenticate()
    await api.http.aclose()
    assert info.value.status.code == 450
    assert auth_failure_reason(info.value) == "context"


@pytest.mark.parametrize(
    ("token", "detail"),
    [
        ("", "no token given"),
        ("a" * 64, "this is a KSeF 1.0 token (64 characters); KSeF 2.0 does not accept it"),
        ("20261123-EC-D8F191B758-4A2265B1F5-BD|nip-5265877635", "the token is not a KSeF 2.0 token"),
        ("20261123-EC-D8F191B758-4A2265B1F5-BD|nip-5265877635|xyz", "the third part of the token must be 64"),
        ("20261123-AU-D8F191B758-4A2265B1F5-BD|nip-5265877635|" + "a" * 64, "the first part of the token"),
        ("20261123-EC-D8F191B758-4A2265B1F5-BD|nip-5265877636|" + "a" * 64, "the NIP inside the token"),
        (" 20261123-EC-D8F191B758-4A2265B1F5-BD|nip-5265877635|" + "a" * 64, "the token contains spaces"),
    ],
    ids=["empty", "ksef-1.0", "two-parts", "short-secret", "wrong-type", "bad-nip", "whitespace"],
)
async def test_malformed_tokens_never_reach_ksef(sim: Sim, token: str, detail: str) -> None:
    before = sim.stats()["calls"]
    result = await run(sim, token)
    assert names(result) == [("token_shape", False)]
    assert result.exit_code == 2
    assert result.steps[0].detail.startswith(detail)
    assert sim.stats()["calls"] == before


async def test_unreachable_port_is_a_network_verdict(sim: Sim) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        profile = sim.profile()
        url = f"http://127.0.0.1:{port}/v2"
        api = make_api(url, sim.tokens["full"], sim.nip)
        result = await verify(profile, sim.tokens["full"], api, fingerprint="x")
        await api.http.aclose()
    assert names(result) == [("token_shape", True), ("ksef_reachable", False)]
    assert result.exit_code == EXIT_CODES[Category.NETWORK] == 3
    assert "refused the connection" in result.steps[-1].detail


async def test_second_run_reuses_the_session(sim: Sim) -> None:
    store = MemorySessionStore()
    first = await run(sim, sim.tokens["full"], store=store, fresh=False)
    auths = len(sim.state.auths)
    second = await run(sim, sim.tokens["full"], store=store, fresh=False)
    assert first.ok
    assert second.ok
    assert len(sim.state.auths) == auths == 1
    assert second.steps[3].detail.startswith("the existing KSeF session is alive")


async def test_timeout_and_tls_failures_are_network_verdicts(sim: Sim) -> None:
    import httpx

    from ksef_tui.ksef.client import KsefHttp
    from ksef_tui.ksef.errors import TransportFailure

    # TLS spoken to a plain-HTTP server: the handshake fails for real
    tls = KsefHttp(sim.base_url.replace("http://", "https://"))
    with pytest.raises(TransportFailure) as info:
        await tls.request("POST", "/auth/challenge")
    await tls.aclose()
    assert info.value.kind == "tls"
    # a server slower than our timeout
    sim.admin("POST", "/faults", {"spec": "latency=1.5"})
    slow = KsefHttp(sim.base_url, timeout=httpx.Timeout(0.3))
    with pytest.raises(TransportFailure) as info:
        await slow.request("POST", "/auth/challenge")
    await slow.aclose()
    assert info.value.kind == "timeout"
    assert "did not answer in time" in info.value.message()
    sim.admin("POST", "/faults", {})


async def test_dns_failure_is_named() -> None:
    import socket

    import httpx

    from ksef_tui.ksef.client import KsefHttp
    from ksef_tui.ksef.errors import TransportFailure

    def handler(request: httpx.Request) -> httpx.Response:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError("[Errno -2] Name or service not known") from exc

    http = KsefHttp("https://api-tset.ksef.mf.gov.pl/v2", transport=httpx.MockTransport(handler))
    with pytest.raises(TransportFailure) as info:
        await http.request("POST", "/auth/challenge")
    assert info.value.kind == "dns"
    assert "cannot find the KSeF server api-tset.ksef.mf.gov.pl" in info.value.message()
