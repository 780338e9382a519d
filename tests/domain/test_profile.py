"""Profiles: names, environments (named or a custom server), and the keys that keep companies apart."""

from __future__ import annotations

from datetime import date

import pytest

from ksef_tui.domain.profile import (
    ENVIRONMENTS,
    InvalidProfile,
    Profile,
    ProfileProblem,
    check_profile_name,
    normalize_environment,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("test", "test"),
        (" DEMO ", "demo"),
        ("Prod", "prod"),
        ("http://127.0.0.1:8000/v2/", "http://127.0.0.1:8000/v2"),
        ("https://ksef.example/v2", "https://ksef.example/v2"),
        ("http://localhost:1/v2", "http://localhost:1/v2"),
        ("http://localhost:65535", "http://localhost:65535"),
    ],
)
def test_environments_named_or_custom(value: str, expected: str) -> None:
    assert normalize_environment(value) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("http://127.0.0.1:0/v2", ProfileProblem.PORT),
        ("http://127.0.0.1:65536/v2", ProfileProblem.PORT),
        ("http://127.0.0.1:99999999/v2", ProfileProblem.PORT),
        ("http://127.0.0.1:port/v2", ProfileProblem.PORT),
        ("ftp://ksef.example/v2", ProfileProblem.ENVIRONMENT),
        ("ksef.example", ProfileProblem.ENVIRONMENT),
        ("http:///v2", ProfileProblem.ENVIRONMENT),
        ("staging", ProfileProblem.ENVIRONMENT),
        ("", ProfileProblem.ENVIRONMENT),
    ],
)
def test_anything_else_is_refused_naming_the_value(value: str, problem: ProfileProblem) -> None:
    with pytest.raises(InvalidProfile) as caught:
        normalize_environment(value)
    assert caught.value.problem is problem
    assert caught.value.value == value
    assert str(caught.value) == f"invalid profile {problem.value}: {value!r}"


@pytest.mark.parametrize("name", ["demo", "Firma-2", "a", "x" * 40, "acme.pl", "a_b"])
def test_profile_names(name: str) -> None:
    assert check_profile_name(name) == name


@pytest.mark.parametrize("name", ["", "-demo", ".hidden", "x" * 41, "a b", "a/b", "zażółć", "demo\n"])
def test_bad_profile_names(name: str) -> None:
    with pytest.raises(InvalidProfile) as caught:
        check_profile_name(name)
    assert (caught.value.problem, caught.value.value) == (ProfileProblem.NAME, name)


def test_named_environments_use_the_mf_servers() -> None:
    profile = Profile("demo", "5265877635", "demo", date(2026, 2, 1))
    assert profile.base_url == ENVIRONMENTS["demo"] == "https://api-demo.ksef.mf.gov.pl/v2"
    assert not profile.is_custom
    assert profile.vault_environment == "demo"
    assert profile.company_key == "demo/5265877635"
    assert profile.qr_environment == "demo"


def test_a_custom_server_is_kept_apart_by_host_and_port() -> None:
    local = Profile("sim", "5265877635", "http://127.0.0.1:8000/v2", date(2026, 2, 1))
    assert local.base_url == "http://127.0.0.1:8000/v2"
    assert local.is_custom
    assert local.vault_environment == "custom:127.0.0.1:8000"
    assert local.company_key == "custom-127.0.0.1-8000/5265877635"
    assert local.qr_environment == "test"  # QR codes of a custom server point at the test environment
    other = Profile("sim", "5265877635", "http://127.0.0.1:8001/v2", date(2026, 2, 1))
    assert other.company_key != local.company_key
    no_port = Profile("x", "5265877635", "https://ksef.example/v2", date(2026, 2, 1))
    assert no_port.vault_environment == "custom:ksef.example:"
    assert no_port.company_key == "custom-ksef.example/5265877635"
    assert (
        Profile("x", "7740001454", "demo", date(2026, 2, 1)).company_key
        != Profile("x", "5265877635", "demo", date(2026, 2, 1)).company_key
    )
