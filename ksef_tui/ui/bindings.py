"""Binding ids, their default keys, and the translation of binding labels.

Every binding has an id (``goto.setup``, ``wizard.update``…) so a user can remap it in ``config.toml``::

    [keys]
    "goto.diagnostics" = "f12,alt+d"

Labels in ``BINDINGS`` are i18n keys, never ``t()`` calls (a class body runs at import, before the language
is known): ``localize`` translates a node's bindings when it is built.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual.binding import Binding

from ksef_tui.i18n import has_key, t

if TYPE_CHECKING:
    from textual.dom import DOMNode

#: The app-wide bindings (id -> default keys); F-keys always paired with an alt+ letter for SSH clients that
#: mangle F-keys. Screens add their own (``wizard.update`` = ctrl+s, ``diagnostics.*``…).
GOTO_HOME = "goto.home"
GOTO_PURCHASES = "goto.purchases"
GOTO_TRANSACTIONS = "goto.transactions"
INVOICE_NEW = "invoice.new"
GOTO_SETUP = "goto.setup"
GOTO_DIAGNOSTICS = "goto.diagnostics"
GOTO_API_LOG = "goto.api_log"
COMPANY_SWITCH = "company.switch"
APP_QUIT = "app.quit"


def app_bindings() -> list[Binding]:
    return [
        Binding("f2,alt+h", "goto('home')", "bind.home", id=GOTO_HOME, tooltip="screen.home.help"),
        Binding("f4,alt+z", "goto('purchases')", "bind.purchases", id=GOTO_PURCHASES, tooltip="screen.purchases.help"),
        Binding(
            "f6,alt+t",  # F5 refreshes on the screens that read KSeF or the store
            "goto('transactions')",
            "bind.transactions",
            id=GOTO_TRANSACTIONS,
            tooltip="screen.transactions.help",
        ),
        Binding(
            "f7,alt+n", "new_invoice", "bind.new_invoice", id=INVOICE_NEW, show=False, tooltip="cmd.new_invoice.help"
        ),
        # shown on the home screen's menu and in the palette; the footer keeps its room for the screen's own keys
        Binding("f3,alt+k", "goto('setup')", "bind.setup", id=GOTO_SETUP, show=False, tooltip="screen.setup.help"),
        Binding(
            "f12,alt+d",
            "goto('diagnostics')",
            "bind.diagnostics",
            id=GOTO_DIAGNOSTICS,
            show=False,
            tooltip="screen.diagnostics.help",
        ),
        Binding("alt+j", "goto('api_log')", "bind.api_log", id=GOTO_API_LOG, show=False, tooltip="screen.api_log.help"),
        Binding("ctrl+o,alt+c", "switch_company", "bind.switch", id=COMPANY_SWITCH, tooltip="cmd.switch.help"),
        Binding("ctrl+q", "quit", "bind.quit", id=APP_QUIT, priority=True, tooltip="bind.quit.help"),
    ]


def localize(node: DOMNode) -> None:
    """Translate the labels (and tooltips) of ``node``'s own bindings in place: each is an i18n key."""
    table = node._bindings.key_to_bindings
    for key, bindings in table.items():
        table[key] = [
            replace(
                binding,
                description=t(binding.description) if has_key(binding.description) else binding.description,
                tooltip=t(binding.tooltip) if binding.tooltip and has_key(binding.tooltip) else binding.tooltip,
            )
            for binding in bindings
        ]


def describe_keys(keys: str) -> str:
    """``f12,alt+d`` as a person reads it: ``F12 / Alt+D``."""
    shown = []
    for key in keys.split(","):
        parts = [
            part.upper() if len(part) == 1 or part.startswith("f") else part.capitalize() for part in key.split("+")
        ]
        shown.append("+".join(parts))
    return " / ".join(shown)
