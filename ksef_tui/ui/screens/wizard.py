"""KSeF settings ("Ustawienia KSeF"): the setup wizard.

The form takes the credential (a KSeF token, a certificate file with its password, or an office's credential
already kept), the environment, the company NIP (checksum checked as it is typed), the date from which the
company uses KSeF and the profile's name. **Update** (``wizard.update``, ctrl+s) runs the services' verification
and shows its steps live; success keeps the secret in the vault and says what is now possible; failure keeps the
form and marks the step that failed with what to do. A token is never shown again once saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Select, Static

from ksef_tui.i18n import t
from ksef_tui.services.setup import (
    CredentialChoice,
    SetupRequest,
    environment_field_problem,
    environment_kind,
    field_problems,
    name_field_problem,
    nip_field_problem,
    start_date_problem,
)
from ksef_tui.ui.bindings import localize
from ksef_tui.ui.widgets.footer import KsefFooter
from ksef_tui.ui.widgets.header import CompanyHeader

if TYPE_CHECKING:
    from ksef_tui.domain.credential import Credential
    from ksef_tui.services.setup import SetupOutcome, VaultStatus
    from ksef_tui.services.verify import Step
    from ksef_tui.ui.app import KsefApp

TOKEN_STEPS = ("token_shape", "ksef_reachable", "challenge", "token_accepted", "permissions")
CERTIFICATE_STEPS = ("certificate", "ksef_reachable", "challenge", "signature_accepted", "permissions")
ENVIRONMENTS = ("test", "demo", "prod", "url")
FIELD_INPUTS = {
    "name": "#name",
    "nip": "#nip",
    "environment": "#url",
    "start_date": "#start-date",
    "token": "#token",
    "certificate_file": "#certificate-file",
    "credential": "#credential",
}


class SetupWizardScreen(Screen[None]):
    """The form on the left, the help and the live steps on the right."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "update", "bind.wizard.update", id="wizard.update", tooltip="bind.wizard.update.help"),
    ]

    def __init__(self) -> None:
        super().__init__()
        localize(self)
        self._steps: dict[str, str] = {}
        self._saved_fingerprint = ""
        self._replace = False
        self._credentials: list[Credential] = []

    @property
    def ksef_app(self) -> KsefApp:
        return self.app  # type: ignore[return-value]

    # ----------------------------------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        prefill = self.ksef_app.setup_prefill
        yield CompanyHeader()
        with Horizontal(id="wizard-body"):
            with VerticalScroll(id="wizard-form"):
                yield Static(t("screen.setup"), classes="screen-title")
                yield Label(t("wizard.label.kind"))
                with RadioSet(id="kind", compact=True):
                    yield RadioButton(t("wizard.kind.token"), value=True, id="kind-token")
                    yield RadioButton(t("wizard.kind.certificate"), id="kind-certificate")
                    yield RadioButton(t("wizard.kind.existing"), id="kind-existing")
                with Vertical(id="token-fields"):
                    yield Label(t("wizard.label.token"))
                    yield Input(compact=True, placeholder=t("wizard.token.placeholder"), password=True, id="token")
                    yield Static("", id="token-note", classes="field-note")
                with Vertical(id="certificate-fields"):
                    yield Label(t("wizard.label.certificate_file"))
                    yield Input(compact=True, placeholder=t("wizard.certificate.placeholder"), id="certificate-file")
                    yield Label(t("wizard.label.key_file"))
                    yield Input(compact=True, placeholder=t("wizard.key.placeholder"), id="key-file")
                    yield Label(t("wizard.label.password"))
                    yield Input(compact=True, password=True, id="password")
                with Vertical(id="existing-fields"):
                    yield Label(t("wizard.label.credential"))
                    yield Select[str]([], prompt=t("wizard.credential.prompt"), compact=True, id="credential")
                yield Label(t("wizard.label.environment"))
                yield Select[str](
                    [(t(f"wizard.env.{env}"), env) for env in ENVIRONMENTS],
                    value="test",
                    allow_blank=False,
                    compact=True,
                    id="environment",
                )
                yield Input(compact=True, placeholder="https://ksef.example/v2", id="url")
                yield Static("", id="env-help", classes="field-note")
                yield Label(t("wizard.label.nip"))
                yield Input(compact=True, value=prefill.nip if prefill else "", placeholder="1234567890", id="nip")
                yield Static("", id="nip-problem", classes="field-note")
                yield Label(t("wizard.label.start_date"))
                yield Input(
                    compact=True, value=prefill.start_date if prefill else "", placeholder="2026-02-01", id="start-date"
                )
                yield Static("", id="start-date-problem", classes="field-note")
                yield Label(t("wizard.label.name"))
                yield Input(
                    compact=True,
                    value=prefill.name if prefill else "",
                    placeholder=t("wizard.name.placeholder"),
                    id="name",
                )
                yield Static("", id="name-problem", classes="field-note")
                with Vertical(id="storage"):
                    yield Static(t("wizard.storage.title"), classes="section-title")
                    yield Static("", id="storage-why")
                    yield Input(compact=True, password=True, placeholder=t("wizard.storage.master"), id="master")
                    yield Input(
                        compact=True, password=True, placeholder=t("wizard.storage.master_again"), id="master-again"
                    )
                    yield Button(t("wizard.storage.use"), id="use-encrypted-file")
            with VerticalScroll(id="wizard-side"):
                yield Static(t("wizard.steps.title"), classes="section-title")
                yield Static("", id="wizard-steps")
                yield Static("", id="wizard-result")
                yield Static("", id="wizard-help")
        yield KsefFooter()

    def on_mount(self) -> None:
        prefill = self.ksef_app.setup_prefill
        self.query_one("#storage").display = False
        for note in ("#nip-problem", "#start-date-problem", "#name-problem"):
            self.query_one(note).display = False
        if prefill and prefill.environment:
            kind = environment_kind(prefill.environment)
            self.query_one("#environment", Select).value = kind
            if kind == "url":
                self.query_one("#url", Input).value = prefill.environment
        self._show_kind(CredentialChoice.TOKEN)
        self._show_environment()
        self._reset_steps(CredentialChoice.TOKEN)
        if prefill is None and self.ksef_app.profile is not None:
            self._fill_from_profile()
        self.watch(self.ksef_app, "profile", self._profile_changed, init=False)
        self._probe_vault()
        self._load_credentials()
        focus = "#token" if prefill and prefill.nip else "#kind"
        self.query_one(focus).focus()

    def _profile_changed(self, _value: object = None) -> None:
        if self.ksef_app.setup_prefill is None and not self.query_one("#nip", Input).value:
            self._fill_from_profile()

    def _fill_from_profile(self) -> None:
        """Editing the company in use: its fields filled, its token never (a new one replaces it)."""
        profile = self.ksef_app.profile
        if profile is None:
            return
        self._replace = True
        kind = environment_kind(profile.environment)
        self.query_one("#environment", Select).value = kind
        if kind == "url":
            self.query_one("#url", Input).value = profile.environment
        self.query_one("#nip", Input).value = profile.nip
        self.query_one("#start-date", Input).value = profile.start_date.isoformat()
        self.query_one("#name", Input).value = profile.name
        overview = self.ksef_app.overview
        if overview is not None and overview.credential.fingerprint:
            self._saved_fingerprint = overview.credential.fingerprint[:8]
            self.query_one("#token-note", Static).update(t("wizard.token.saved", fp=self._saved_fingerprint))

    # -------------------------------------------------------------------------------------- the fields

    def _kind(self) -> CredentialChoice:
        pressed = self.query_one("#kind", RadioSet).pressed_button
        if pressed is None or pressed.id is None:
            return CredentialChoice.TOKEN
        return CredentialChoice(pressed.id.removeprefix("kind-"))

    def _show_kind(self, kind: CredentialChoice) -> None:
        self.query_one("#token-fields").display = kind is CredentialChoice.TOKEN
        self.query_one("#certificate-fields").display = kind is CredentialChoice.CERTIFICATE
        self.query_one("#existing-fields").display = kind is CredentialChoice.EXISTING
        self.query_one("#wizard-help", Static).update(t(f"wizard.help.{kind.value}"))

    def _environment(self) -> str:
        chosen = self.query_one("#environment", Select).value
        if chosen == "url":
            return self.query_one("#url", Input).value.strip()
        return str(chosen) if isinstance(chosen, str) else "test"

    def _show_environment(self) -> None:
        chosen = self.query_one("#environment", Select).value
        kind = chosen if isinstance(chosen, str) else "test"
        self.query_one("#url", Input).display = kind == "url"
        self.query_one("#env-help", Static).update(t(f"wizard.env.{kind}.help"))

    @on(RadioSet.Changed, "#kind")
    def _kind_changed(self, _event: RadioSet.Changed) -> None:
        kind = self._kind()
        self._show_kind(kind)
        self._reset_steps(kind)

    @on(Select.Changed, "#environment")
    def _environment_changed(self, _event: Select.Changed) -> None:
        self._show_environment()

    @on(Input.Changed, "#nip")
    def _nip_typed(self, event: Input.Changed) -> None:
        self._field_note("#nip", "#nip-problem", nip_field_problem(event.value) if event.value else None)

    @on(Input.Changed, "#start-date")
    def _date_typed(self, event: Input.Changed) -> None:
        text = event.value.strip()
        typing = len(text) < 10 and all(ch.isdigit() or ch == "-" for ch in text)  # a date on its way
        problem = start_date_problem(text) if text and not typing else None
        self._field_note("#start-date", "#start-date-problem", problem)

    @on(Input.Changed, "#name")
    def _name_typed(self, event: Input.Changed) -> None:
        self._field_note("#name", "#name-problem", name_field_problem(event.value) if event.value else None)

    @on(Input.Changed, "#url")
    def _url_typed(self, event: Input.Changed) -> None:
        problem = environment_field_problem(event.value) if event.value else None
        self.query_one("#url", Input).set_class(problem is not None, "-invalid")
        self.query_one("#env-help", Static).update(problem or t("wizard.env.url.help"))

    def _field_note(self, field: str, note: str, problem: str | None) -> None:
        self.query_one(field, Input).set_class(problem is not None, "-invalid")
        widget = self.query_one(note, Static)
        widget.display = bool(problem) or (field == "#nip" and bool(self.query_one(field, Input).value))
        if problem:
            widget.update(f"{self.ksef_app.glyphs.fail} {problem}")
            widget.set_classes("field-note -error")
        elif field == "#nip" and self.query_one(field, Input).value:
            widget.update(f"{self.ksef_app.glyphs.ok} {t('wizard.nip.ok')}")
            widget.set_classes("field-note -ok")
        else:
            widget.update("")
            widget.set_classes("field-note")

    def _request(self) -> SetupRequest:
        def value(selector: str) -> str:
            return self.query_one(selector, Input).value

        nip = value("#nip").strip()
        name = value("#name").strip() or (f"firma-{''.join(c for c in nip if c.isdigit())}" if nip else "")
        credential = self.query_one("#credential", Select).value
        return SetupRequest(
            name=name,
            nip=nip,
            environment=self._environment(),
            start_date=value("#start-date").strip(),
            kind=self._kind(),
            token="".join(value("#token").split()),  # a paste may bring a newline or spaces
            certificate_file=value("#certificate-file").strip(),
            key_file=value("#key-file").strip(),
            password=value("#password"),
            credential=credential if isinstance(credential, str) else "",
            replace=self._replace and self.ksef_app.profile is not None and self.ksef_app.profile.name == name,
        )

    # ---------------------------------------------------------------------------------------- workers

    @work(thread=True, exclusive=True, group="wizard-vault", exit_on_error=False, description="probe the vault")
    def _probe_vault(self) -> None:
        from ksef_tui.services.setup import vault_status

        status = vault_status(self.ksef_app.workspace)
        self.app.call_from_thread(self._show_vault, status)

    def _show_vault(self, status: VaultStatus) -> None:
        storage = self.query_one("#storage")
        storage.display = not status.usable
        if not status.usable:
            self.query_one("#storage-why", Static).update(t("wizard.storage.why", problem=status.problem))

    @work(thread=True, exclusive=True, group="wizard-credentials", exit_on_error=False, description="credentials")
    def _load_credentials(self) -> None:
        from ksef_tui.errors import UserError
        from ksef_tui.services.setup import existing_credentials

        try:
            credentials = existing_credentials(self.ksef_app.workspace)
        except UserError:
            credentials = []
        self.app.call_from_thread(self._show_credentials, credentials)

    def _show_credentials(self, credentials: list[Credential]) -> None:
        self._credentials = credentials
        options = [(f"{c.name} {self.ksef_app.glyphs.sep} {c.subject or c.identity}", c.name) for c in credentials]
        self.query_one("#credential", Select).set_options(options)
        if not credentials:
            self.query_one("#kind-existing", RadioButton).disabled = True

    @on(Button.Pressed, "#use-encrypted-file")
    def _use_encrypted_file(self) -> None:
        master = self.query_one("#master", Input).value
        again = self.query_one("#master-again", Input).value
        if len(master) < 8:
            self.notify(t("wizard.storage.too_short"), severity="error")
            return
        if master != again:
            self.notify(t("wizard.storage.mismatch"), severity="error")
            return
        self._unlock(master)

    @work(thread=True, exclusive=True, group="wizard-vault", exit_on_error=False, description="encrypted file")
    def _unlock(self, master: str) -> None:
        from ksef_tui.errors import UserError
        from ksef_tui.services.setup import use_encrypted_file

        try:
            status = use_encrypted_file(self.ksef_app.workspace, master)
        except UserError as exc:
            self.app.call_from_thread(self.notify, exc.message(), severity="error", timeout=10)
            return
        self.app.call_from_thread(self._vault_ready, status)

    def _vault_ready(self, status: VaultStatus) -> None:
        self._show_vault(status)
        for selector in ("#master", "#master-again"):
            self.query_one(selector, Input).value = ""
        self.notify(t("wizard.storage.ready", backend=status.backend))

    def action_update(self) -> None:
        request = self._request()
        problems = field_problems(request)
        for field, selector in FIELD_INPUTS.items():
            if self.query(selector):
                self.query_one(selector).set_class(field in problems, "-invalid")
        if problems:
            field, problem = next(iter(problems.items()))
            self._result(f"{self.ksef_app.glyphs.fail} {t(f'wizard.label.{field}')}: {problem}", error=True)
            if self.query(FIELD_INPUTS[field]):
                self.query_one(FIELD_INPUTS[field]).focus()
            return
        self._reset_steps(request.kind)
        self._result(t("wizard.checking"), error=False)
        self._check(request)

    @work(exclusive=True, group="wizard-check", exit_on_error=False, description="verify the credential")
    async def _check(self, request: SetupRequest) -> None:
        from ksef_tui.errors import UserError, report
        from ksef_tui.services.setup import check_and_save

        app = self.ksef_app
        app.session_note = t("wizard.connecting")
        try:
            outcome = await check_and_save(app.workspace, request, on_step=self._step_done, on_start=self._step_started)
        except UserError as exc:
            self._result(
                f"{app.glyphs.fail} {exc.message()}" + (f"\n{app.glyphs.arrow} {exc.hint()}" if exc.hint() else ""),
                error=True,
            )
            return
        except Exception as exc:  # a bug of ours: shown, never a crashed app
            shown = report(exc)
            self._result(f"{app.glyphs.fail} {shown.message}", error=True)
            return
        finally:
            app.session_note = ""
        self._finished(outcome, request)

    def _step_started(self, name: str) -> None:
        self._steps[name] = f"{self.ksef_app.glyphs.busy} {t('doctor.step.' + name)}…"
        self._render_steps()

    def _step_done(self, step: Step) -> None:
        glyphs = self.ksef_app.glyphs
        mark = glyphs.ok if step.ok else glyphs.fail
        line = f"{mark} {t('doctor.step.' + step.name):<24} {step.ms:>6} ms\n    {step.detail}"
        if not step.ok and step.hint:
            line += f"\n    {glyphs.arrow} {step.hint}"
        self._steps[step.name] = line
        self._render_steps()

    def _reset_steps(self, kind: CredentialChoice) -> None:
        names = TOKEN_STEPS if kind is CredentialChoice.TOKEN else CERTIFICATE_STEPS
        waiting = self.ksef_app.glyphs.waiting
        self._steps = {name: f"{waiting} {t('doctor.step.' + name)}" for name in names}
        self._render_steps()

    def _render_steps(self) -> None:
        self.query_one("#wizard-steps", Static).update("\n".join(self._steps.values()))

    def _result(self, text: str, *, error: bool) -> None:
        widget = self.query_one("#wizard-result", Static)
        widget.update(text)
        widget.set_class(error, "-error")
        widget.set_class(not error and bool(text), "-ok")

    def _finished(self, outcome: SetupOutcome, request: SetupRequest) -> None:
        app = self.ksef_app
        app.last_verification = outcome.verification
        if not outcome.ok or outcome.profile is None:
            failed = next((s for s in outcome.verification.steps if not s.ok), None)
            text = t("wizard.failed", step=t("doctor.step." + failed.name)) if failed else t("wizard.failed.other")
            if failed is not None and failed.hint:
                text += f"\n{app.glyphs.arrow} {failed.hint}"
            self._result(f"{app.glyphs.fail} {text}", error=True)
            return
        profile = outcome.profile
        token_input = self.query_one("#token", Input)
        token_input.value = ""  # never on screen again
        for selector in ("#password",):
            self.query_one(selector, Input).value = ""
        fingerprint = outcome.verification.token_fingerprint[:8]
        if request.kind is CredentialChoice.TOKEN:
            self.query_one("#token-note", Static).update(t("wizard.token.saved", fp=fingerprint))
        self._replace = True
        permissions = ", ".join(t(f"perm.{p}") for p in outcome.verification.permissions if p.startswith("Invoice"))
        self._result(
            f"{app.glyphs.ok} "
            + t("wizard.saved", name=profile.name, nip=profile.nip, permissions=permissions, fp=fingerprint),
            error=False,
        )
        app.setup_prefill = None
        app.use_company(profile.name)
