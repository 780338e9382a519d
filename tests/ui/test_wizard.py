"""The KSeF setup wizard against the simulator over real HTTP: a good token saves the profile and its secret;
each failure is shown on its own step with what to do, and the form stays."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.widgets import Input, RadioButton, RadioSet, Select, Static

from ksef_tui.i18n import t
from ksef_tui.ui.app import KsefApp, SetupPrefill
from ksef_tui.vault import Vault

from ..conftest import Sim
from ..ksef import certkit
from .conftest import add_token_profile, eventually, settle

SIZE = (110, 36)


async def wizard_ready(app: KsefApp) -> None:
    """The wizard is the screen and its form is composed (a loaded machine may take a while)."""
    for _ in range(400):
        if app.current_mode == "setup" and app.screen.query("#environment") and app.screen.query("#token"):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"the wizard did not open (mode {app.current_mode})")


async def fill(app: KsefApp, sim: Sim, token: str, *, nip: str | None = None, name: str = "firma") -> None:
    await wizard_ready(app)
    screen = app.screen
    screen.query_one("#environment", Select).value = "url"
    screen.query_one("#url", Input).value = sim.base_url
    screen.query_one("#nip", Input).value = nip or sim.nip
    screen.query_one("#start-date", Input).value = "2026-02-01"
    screen.query_one("#name", Input).value = name
    screen.query_one("#token", Input).value = token


def text_of(app: KsefApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def choose_kind(app: KsefApp, kind: str) -> None:
    """Press the credential kind's radio button and wait until the form shows that kind (a loaded machine handles
    the radio set's message late: ctrl+s before it would check the kind that was). Pressed again if a second
    goes by without the radio set taking it."""
    await app.workers.wait_for_complete()
    radio = app.screen.query_one("#kind", RadioSet)
    button = app.screen.query_one(f"#kind-{kind}", RadioButton)
    for _ in range(20):
        if not button.value:
            button.value = True
        for _ in range(40):
            if radio.pressed_button is button:
                return
            await asyncio.sleep(0.025)
        button.value = False
    raise AssertionError(f"the radio set never took {kind} (pressed: {radio.pressed_button})")


async def run_update(app: KsefApp, pilot: object) -> None:
    """ctrl+s, then wait until the check has said how it ended (a field refused, or the steps' outcome)."""
    checking = t("wizard.checking")
    await pilot.press("ctrl+s")  # type: ignore[attr-defined]
    await eventually(lambda: text_of(app, "#wizard-result") not in ("", checking), "the check's outcome", seconds=60)
    await settle(pilot)  # type: ignore[arg-type]


async def test_first_run_opens_the_wizard_and_a_good_token_is_saved(
    app_factory: Callable[..., KsefApp], sim: Sim, vault: Vault
) -> None:
    app = app_factory(sim)
    token = sim.tokens["full"]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert app.current_mode == "setup"
        await fill(app, sim, token)
        await run_update(app, pilot)
        steps = text_of(app, "#wizard-steps")
        assert steps.count("✓") == 5, steps
        assert "✗" not in steps
        assert app.screen.query_one("#token", Input).value == ""
        assert token not in app.export_screenshot()
        assert "firma" in text_of(app, "#wizard-result")
        assert app.profile is not None and app.profile.name == "firma"
    profiles = app.workspace.list_profiles()
    assert [p.name for p in profiles] == ["firma"]
    assert vault.get_token(profiles[0].vault_environment, "firma") == token


async def check_failure(
    app_factory: Callable[..., KsefApp], sim: Sim, token: str, step: str, words: list[str], *, nip: str | None = None
) -> str:
    app = app_factory(sim)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await fill(app, sim, token, nip=nip)
        await run_update(app, pilot)
        steps = text_of(app, "#wizard-steps")
        failed = [line for line in steps.splitlines() if line.startswith("✗")]
        assert failed and step in failed[0], steps
        for word in words:
            assert word in steps, (word, steps)
        assert "✗" in text_of(app, "#wizard-result")
        assert app.screen.query_one("#token", Input).value == token  # the form stays
    assert app.workspace.list_profiles() == []
    return steps


async def test_a_ksef_1_0_token_fails_on_its_shape(app_factory: Callable[..., KsefApp], sim: Sim) -> None:
    await check_failure(app_factory, sim, "A" * 64, "token shape", ["KSeF 2.0"])


async def test_a_token_of_another_company_fails_on_its_shape(app_factory: Callable[..., KsefApp], sim: Sim) -> None:
    await check_failure(app_factory, sim, sim.tokens["other_nip"], "token shape", [sim.nip])


async def test_a_read_only_token_names_the_missing_invoice_issuing(
    app_factory: Callable[..., KsefApp], sim: Sim
) -> None:
    await check_failure(app_factory, sim, sim.tokens["read_only"], "permissions", ["InvoiceWrite"])


async def test_a_revoked_token_is_refused_by_ksef(app_factory: Callable[..., KsefApp], sim: Sim) -> None:
    await check_failure(app_factory, sim, sim.tokens["revoked"], "token accepted", ["revoked"])


async def test_an_unreachable_ksef_fails_on_reachability(
    app_factory: Callable[..., KsefApp], sim: Sim, unused_tcp_port: int = 9
) -> None:
    app = app_factory(None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await fill(app, sim, sim.tokens["full"])
        app.screen.query_one("#url", Input).value = "http://127.0.0.1:9/v2"
        await run_update(app, pilot)
        steps = text_of(app, "#wizard-steps")
        failed = [line for line in steps.splitlines() if line.startswith("✗")]
        assert failed and "KSeF reachable" in failed[0], steps
    assert app.workspace.list_profiles() == []


async def test_a_bad_nip_checksum_is_shown_as_it_is_typed(app_factory: Callable[..., KsefApp]) -> None:
    app = app_factory(None)
    async with app.run_test(size=SIZE) as pilot:
        await wizard_ready(app)
        await settle(pilot)  # the wizard's own first focus is done
        app.screen.query_one("#nip", Input).focus()
        await pilot.press(*"5265877636")
        await eventually(lambda: "check digit" in text_of(app, "#nip-problem"), "the checksum named")
        await pilot.press("backspace", "5")
        await eventually(lambda: "valid" in text_of(app, "#nip-problem"), "the NIP said valid")


async def test_setup_line_prefills_and_focuses_the_token(app_factory: Callable[..., KsefApp], sim: Sim) -> None:
    prefill = SetupPrefill(environment=sim.base_url, nip=sim.nip, start_date="2026-03-01", name="klient")
    app = app_factory(sim, setup=prefill)
    async with app.run_test(size=SIZE) as pilot:
        await wizard_ready(app)
        await pilot.pause()
        screen = app.screen
        assert screen.query_one("#environment", Select).value == "url"
        assert screen.query_one("#url", Input).value == sim.base_url
        assert screen.query_one("#nip", Input).value == sim.nip
        assert app.focused is screen.query_one("#token", Input)
        await pilot.press(*sim.tokens["full"])
        await run_update(app, pilot)
        assert text_of(app, "#wizard-steps").count("✓") == 5
    assert [p.name for p in app.workspace.list_profiles()] == ["klient"]


async def test_an_existing_company_opens_home_with_its_header(app_factory: Callable[..., KsefApp], sim: Sim) -> None:
    app = app_factory(sim)
    add_token_profile(app.workspace, sim)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.current_mode == "home"
        header = app.screen.query_one("CompanyHeader")
        text = " ".join(str(w.render()) for w in header.query("Static"))
        assert "demo" in text and "526-587-76-35" in text
        assert "31 days to 2027-01-01" in text  # 31 whole days and some hours


async def choose_certificate(app: KsefApp, pilot: object, path: str, password: str) -> None:
    screen = app.screen
    await choose_kind(app, "certificate")
    screen.query_one("#certificate-file", Input).value = path
    screen.query_one("#password", Input).value = password


async def check_certificate(app: KsefApp, sim: Sim, seal: Path) -> tuple[str, str]:
    """The wizard run with the certificate file ``seal``: (the steps shown, the password field after)."""
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await fill(app, sim, "")
        await choose_certificate(app, pilot, str(seal), certkit.PASSWORD)
        await run_update(app, pilot)
        return text_of(app, "#wizard-steps"), app.screen.query_one("#password", Input).value


async def test_a_seal_certificate_signs_in_and_is_saved(
    app_factory: Callable[..., KsefApp], make_sim: Callable[..., Sim], vault: Vault, tmp_path: Path
) -> None:
    sim = make_sim(environment="TE")
    key = certkit.ec_key()
    seal = tmp_path / "seal.p12"
    seal.write_bytes(certkit.p12(key, certkit.certificate(key, certkit.seal_name(sim.nip))))
    app = app_factory(sim)
    steps, password = await check_certificate(app, sim, seal)
    assert steps.count("✓") == 5, steps
    assert password == ""
    [profile] = app.workspace.list_profiles()
    assert vault.get_certificate(profile.vault_environment, "firma") is not None


async def test_an_expired_certificate_fails_on_its_first_step(
    app_factory: Callable[..., KsefApp], make_sim: Callable[..., Sim], tmp_path: Path
) -> None:
    sim = make_sim(environment="TE")
    key = certkit.ec_key()
    old = certkit.certificate(key, certkit.seal_name(sim.nip), not_before=datetime.now(UTC) - timedelta(days=400))
    seal = tmp_path / "old.p12"
    seal.write_bytes(certkit.p12(key, old))
    app = app_factory(sim)
    steps, _password = await check_certificate(app, sim, seal)
    failed = [line for line in steps.splitlines() if line.startswith("✗")]
    assert failed and "certificate" in failed[0] and "expired" in steps, steps
    assert app.workspace.list_profiles() == []


async def test_an_office_signs_in_for_a_client_that_granted_it_rights(
    app_factory: Callable[..., KsefApp], make_sim: Callable[..., Sim], vault: Vault
) -> None:
    sim = make_sim(environment="TE")
    office_nip = certkit.own_nip(1)
    certkit.grant_office(sim, sim.nip, office_nip)
    key = certkit.ec_key()
    seal = certkit.certificate(key, certkit.seal_name(office_nip, "Biuro Rachunkowe sp. z o.o."))
    app = app_factory(sim)
    app.workspace.add_certificate_profile(
        "biuro", office_nip, sim.base_url, "2026-02-01", certkit.p12(key, seal), password=certkit.PASSWORD
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("f3")
        await wizard_ready(app)
        await settle(pilot)
        screen = app.screen
        await choose_kind(app, "existing")
        screen.query_one("#credential", Select).value = "biuro"
        await fill(app, sim, "", name="klient")
        await run_update(app, pilot)
        steps = text_of(app, "#wizard-steps")
        assert steps.count("✓") == 5, steps
        assert app.profile is not None and app.profile.name == "klient"
    client = app.workspace.profiles.get("klient")
    assert client.credential_name == "biuro" and client.nip == sim.nip


async def test_a_new_token_replaces_the_companys_old_one(
    app_factory: Callable[..., KsefApp], make_sim: Callable[..., Sim], vault: Vault
) -> None:
    sim = make_sim()
    app = app_factory(sim)
    profile = add_token_profile(app.workspace, sim, "read_only", name="firma")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("f3")
        await wizard_ready(app)
        await settle(pilot)
        screen = app.screen
        assert screen.query_one("#nip", Input).value == sim.nip  # the company's fields, never its token
        assert screen.query_one("#token", Input).value == ""
        assert "fingerprint" in text_of(app, "#token-note")
        screen.query_one("#token", Input).value = sim.tokens["full"]
        await run_update(app, pilot)
        assert text_of(app, "#wizard-steps").count("✓") == 5
    assert [p.name for p in app.workspace.list_profiles()] == ["firma"]
    assert vault.get_token(profile.vault_environment, "firma") == sim.tokens["full"]


async def test_the_setup_line_updates_a_company_already_there(
    app_factory: Callable[..., KsefApp], sim: Sim, vault: Vault
) -> None:
    app = app_factory(sim, setup=SetupPrefill(environment=sim.base_url, nip=sim.nip, name="firma"))
    add_token_profile(app.workspace, sim, "read_only", name="firma")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await fill(app, sim, sim.tokens["full"])
        await run_update(app, pilot)
        assert text_of(app, "#wizard-steps").count("✓") == 5
    [profile] = app.workspace.list_profiles()
    assert vault.get_token(profile.vault_environment, "firma") == sim.tokens["full"]
