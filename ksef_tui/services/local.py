"""Where a profile's local data lives: its store file and its invoice XML files."""

from __future__ import annotations

from pathlib import Path

from ksef_tui import paths
from ksef_tui.domain.profile import Profile
from ksef_tui.store.db import Store
from ksef_tui.store.purchases import XmlStore


def profile_dir(profile: Profile) -> Path:
    return paths.data_dir() / "profiles" / profile.name


def store_path(profile: Profile) -> Path:
    return profile_dir(profile) / "store.json"


def open_store(profile: Profile, *, read_only: bool = False) -> Store:
    """Blocking: takes the single-writer lock unless ``read_only``."""
    return Store.open(store_path(profile), read_only=read_only)


def xml_store(profile: Profile) -> XmlStore:
    return XmlStore(profile_dir(profile) / "xml")
