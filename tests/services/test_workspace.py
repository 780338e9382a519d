"""The workspace as the TUI will use it: steps reported live, the API log kept, where each secret lives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ksef_tui import paths
from ksef_tui.domain.profile import SecretLocation
from ksef_tui.services.verify import Step
from ksef_tui.services.workspace import Workspace
from ksef_tui.settings import SecretSettings, Settings
from ksef_tui.vault import BackendChoice, MemoryKeyring, Vault

from ..conftest import Sim


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    return tmp_path


async def test_verify_reports_each_step_as_it_runs_and_keeps_the_api_log(
    xdg: Path, make_sim: Callable[..., Sim]
) -> None:
    sim = make_sim()
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()))
    profile = workspace.add_profile("firma", sim.nip, sim.base_url, "2026-02-01", sim.tokens["full"])
    events: list[str] = []

    def started(name: str) -> None:
        events.append(f"start {name}")

    def finished(step: Step) -> None:
        events.append(f"{'ok' if step.ok else 'failed'} {step.name}")

    result = await workspace.verify(profile, fresh=True, on_start=started, on_step=finished)
    assert result.ok, result.to_json()
    names = ["token_shape", "ksef_reachable", "challenge", "token_accepted", "permissions"]
    assert events == [e for name in names for e in (f"start {name}", f"ok {name}")]
    log = (paths.log_dir() / "firma.api.log").read_text(encoding="utf-8")
    assert "/auth/challenge" in log
    secret = sim.tokens["full"].split("|")[-1]
    assert secret not in log


async def test_a_failed_step_is_reported_with_its_category(xdg: Path, make_sim: Callable[..., Sim]) -> None:
    sim = make_sim()
    workspace = Workspace(Settings(), vault=Vault(MemoryKeyring()))
    profile = workspace.add_profile("firma", sim.nip, sim.base_url, "2026-02-01", sim.tokens["read_only"])
    failed: list[Step] = []
    result = await workspace.verify(profile, fresh=True, on_step=lambda s: failed.append(s) if not s.ok else None)
    assert [s.name for s in failed] == ["permissions"]
    assert result.exit_code == 5


def test_where_a_secret_lives_flags_then_profile_then_settings(xdg: Path) -> None:
    configured = Settings(secrets=SecretSettings(backend=BackendChoice.PLAINTEXT_FILE, password_file=Path("/cfg")))
    remembered = SecretLocation("encrypted-file", "/data/vault.cfg", "/home/master")
    from ksef_tui.services.profiles import make_profile

    profile = make_profile("firma", "5265877635", "test", "2026-02-01", secrets=remembered)
    bare = make_profile("other", "5265877635", "test", "2026-02-01")

    plain = Workspace(configured)
    assert plain.secret_location(profile) == remembered
    assert plain.secret_location(bare) == SecretLocation("plaintext-file", None, "/cfg")

    flagged = Workspace(configured, secret_override=SecretSettings(backend=BackendChoice.MEMORY))
    # A backend chosen on the command line replaces the remembered location whole (its password file belongs
    # to the remembered backend); the settings fill in what the flags leave out.
    assert flagged.secret_location(profile) == SecretLocation("memory", None, "/cfg")
    assert Workspace(Settings()).secret_location(bare) is None  # the automatic policy
    override_file = Workspace(configured, secret_override=SecretSettings(password_file=Path("/flag")))
    assert override_file.secret_location(profile) == SecretLocation("encrypted-file", "/data/vault.cfg", "/flag")


def test_the_workspace_starts_without_heavy_modules(xdg: Path) -> None:
    """What a face needs before its first frame (settings, profiles) imports no HTTP, crypto, keyring, XML,
    database or UI library: those load when first used (issue 9's start-up budget)."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from ksef_tui.services.workspace import Workspace\n"
        "from ksef_tui.settings import load_settings\n"
        "Workspace(load_settings()).list_profiles()\n"
        "heavy = ('httpx', 'jwt', 'cryptography', 'keyring', 'lxml', 'tinydb', 'filelock', 'textual')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_read_only_look_at_an_older_store_migrates_it_first(xdg: Path) -> None:
    """``purchases list`` on a store written before the partitions: one writable open migrates it, then the
    read-only view shows everything (and a store another session holds is reported, not half-read)."""
    from filelock import FileLock

    from ksef_tui.errors import UserError
    from ksef_tui.services.profiles import make_profile
    from ksef_tui.store.purchases import PurchaseRepository

    from ..store.test_migration import write_v1

    workspace = Workspace(Settings())
    profile = make_profile("firma", "5265877635", "test", "2026-02-01")
    path = workspace.store_path(profile)
    path.parent.mkdir(parents=True)
    bookings = write_v1(path, 20)
    with workspace.open_store(profile, read_only=True) as store:
        found = PurchaseRepository(store).all()
    assert len(found) == 20
    assert {r.ksef_number: r.booking for r in found if r.booking} == bookings

    other = make_profile("druga", "7740001454", "test", "2026-02-01")
    other_path = workspace.store_path(other)
    other_path.parent.mkdir(parents=True)
    write_v1(other_path, 5)
    before = other_path.read_bytes()
    held = FileLock(str(other_path) + ".lock")  # another session holds the older store
    held.acquire(timeout=0)
    try:
        with pytest.raises(UserError) as caught, workspace.open_store(other, read_only=True):
            pass
        assert caught.value.key == "store.locked"
    finally:
        held.release()
    assert other_path.read_bytes() == before
