"""The master password of an encrypted-file vault, asked in the app (a headless SSH box has no OS keyring and
the profile named no password file). The password stays in this process; a wrong one is said and asked again."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ksef_tui.i18n import t
from ksef_tui.ui.bindings import localize

if TYPE_CHECKING:
    from ksef_tui.domain.profile import Profile
    from ksef_tui.ui.app import KsefApp


class UnlockDialog(ModalScreen[bool]):
    """Dismissed with True once the vault opened, False when the user gave up (Escape)."""

    DEFAULT_CSS: ClassVar[str] = """
    UnlockDialog { align: center middle; }
    UnlockDialog > Vertical { width: 70; height: auto; border: round $warning; background: $surface; padding: 1 2; }
    UnlockDialog #unlock-problem { color: $error; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "bind.cancel", id="unlock.cancel")]

    def __init__(self, profile: Profile) -> None:
        super().__init__()
        localize(self)
        self.profile = profile

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(t("unlock.title", name=self.profile.name), classes="section-title")
            yield Static(t("unlock.why"))
            yield Input(password=True, placeholder=t("wizard.storage.master"), id="unlock-password")
            yield Static("", id="unlock-problem")

    @on(Input.Submitted, "#unlock-password")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value:
            self.query_one("#unlock-problem", Static).update(t("unlock.opening"))
            # the app's worker, not the dialog's: closing the dialog must not cancel the work that closes it
            self.app.run_worker(
                lambda: self._open(event.value),
                thread=True,
                exclusive=True,
                group="unlock",
                exit_on_error=False,
                description="open the vault",
            )

    def _open(self, password: str) -> None:
        from ksef_tui.errors import UserError
        from ksef_tui.services.setup import unlock

        app: KsefApp = self.app  # type: ignore[assignment]
        try:
            unlock(app.workspace, self.profile, password)
        except UserError as exc:
            self.app.call_from_thread(self._failed, exc.message())
            return
        self.app.call_from_thread(self.dismiss, True)

    def _failed(self, message: str) -> None:
        self.query_one("#unlock-problem", Static).update(message)
        field = self.query_one("#unlock-password", Input)
        field.value = ""
        field.focus()

    def action_cancel(self) -> None:
        self.dismiss(False)
