"""What the invoice detail shows, read from the company's store: a purchase by its KSeF number (its XML in the
XML store), a sale by its invoice number (its XML beside the sales register, its send state and UPO).

:func:`load_invoice` reads and parses (blocking: the store and lxml; run it in a thread) and returns an
:class:`InvoiceView` of display-ready texts: parties, lines, the VAT summary per rate, payment, dates, the
KSeF number, the corrected invoices (each with what to open when it is in the store), the send state of a
sale, and KOD I (its link, module matrix and label); for a sale issued offline (issue 14) also KOD II (its link
and module matrix, ``CERTYFIKAT`` under it), the offline mode and, until KSeF accepts it, the deadline to send it.
The visualisation (MF's stylesheet), the XML and the UPO
are saved by :func:`save_new`, which never overwrites a file. No Textual here.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from ksef_tui.domain.money import ZERO, format_amount
from ksef_tui.domain.profile import Profile
from ksef_tui.domain.vat import BUCKETS, VatRate
from ksef_tui.errors import Category, PathError, UserError
from ksef_tui.i18n import language, t
from ksef_tui.services.workspace import Workspace

if TYPE_CHECKING:
    from ksef_tui.fa.parse import ParsedInvoice
    from ksef_tui.store.db import Store
    from ksef_tui.store.sales import Sale

Source = Literal["purchase", "sale"]

WARSAW = ZoneInfo("Europe/Warsaw")

#: FA(3) ``Platnosc/FormaPlatnosci`` codes.
PAYMENT_FORMS = ("1", "2", "3", "4", "5", "6", "7")


class InvoiceNotFound(UserError):
    """The invoice is not in the company's store (or its XML was never downloaded)."""

    key = "detail.not_found"
    category = Category.INPUT


@dataclass(frozen=True, slots=True)
class PartyView:
    name: str
    id_label: str  # "NIP 5265877635", "VAT UE DE123", "" when none
    address: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LineView:
    number: str
    name: str
    unit: str
    quantity: str
    unit_net: str
    rate: str
    net: str


@dataclass(frozen=True, slots=True)
class VatRow:
    rate: str
    net: str
    vat: str  # "" for a rate without tax (0%, zw, np, oo, margin)
    gross: str


@dataclass(frozen=True, slots=True)
class CorrectedLink:
    """An invoice this one corrects (or, for a purchase, a correction of this one): ``target`` is what to open
    (source and key) when it is in the store, else ``None``."""

    number: str
    ksef_number: str
    issue_date: str
    target: tuple[Source, str] | None
    corrects: bool = True  # False: this link is a correction OF the shown invoice


@dataclass(frozen=True, slots=True)
class InvoiceView:
    source: Source
    key: str
    number: str
    kind: str  # "VAT", "KOR", ...
    kind_text: str
    ksef_number: str  # "" when KSeF has given none
    issue_date: str
    sale_date: str
    acquired: str  # the KSeF number's date and time (receipt date), "" when none
    seller: PartyView
    buyer: PartyView
    currency: str
    lines: tuple[LineView, ...]
    vat_rows: tuple[VatRow, ...]
    net: str
    vat: str
    gross: str
    payment_form: str
    payment_due: str
    bank_accounts: tuple[str, ...]
    corrections: tuple[CorrectedLink, ...]
    correction_reason: str
    send_state: str  # sales: the state in words (with KSeF's reason when rejected); "" for purchases
    send_state_code: str  # SendState value, "" for purchases
    has_upo: bool
    qr_url: str
    qr_label: str
    qr_modules: tuple[tuple[bool, ...], ...]
    xml: bytes = field(repr=False)
    kod2_url: str = ""  # KOD II of an offline invoice, "" for any other
    kod2_label: str = ""  # "CERTYFIKAT" when there is KOD II
    kod2_modules: tuple[tuple[bool, ...], ...] = ()
    offline_mode: str = ""  # the offline mode in words, "" for an invoice issued in KSeF
    deadline: str = ""  # the deadline to send it in words, "" when none (sent, or not offline)
    deadline_state: str = ""  # DeadlineState value ("open", "due_today", "overdue", ...), "" when none
    deadline_warning: bool = False  # due today, overdue, or the next business day is the last

    @property
    def offline(self) -> bool:
        return bool(self.kod2_url)

    @property
    def file_stem(self) -> str:
        """A file name for saved copies: the KSeF number, else the invoice number made safe."""
        name = self.ksef_number or self.number
        return "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_") or "invoice"


# ------------------------------------------------------------------------------------------------ formatting


def money(value: Decimal | None) -> str:
    return "" if value is None else format_amount(value, decimal_comma=language() == "pl")


def quantity(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if language() == "pl" else text


def day(value: date | None) -> str:
    return "" if value is None else f"{value:%d.%m.%Y}"


def moment(value: datetime | None) -> str:
    return "" if value is None else f"{value.astimezone(WARSAW):%d.%m.%Y %H:%M}"


def rate_text(rate: str | None) -> str:
    if rate is None:
        return t("detail.rate.margin")
    return f"{rate}%" if rate.isdigit() else rate


def _party(id_type: str, ident: str | None, name: str | None, address: tuple[str, ...]) -> PartyView:
    if not ident:
        label = ""
    elif id_type == "Nip":
        label = f"NIP {ident}"
    elif id_type == "UE":
        label = f"{t('detail.id.eu')} {ident}"
    else:
        label = f"{t('detail.id.other')} {ident}"
    return PartyView(name or "", label, address)


def _bucket_label(key: str, rates: set[str]) -> str:
    found = sorted(
        {r for r in rates if _bucket_of(r) == key}, key=lambda r: (not r.isdigit(), -int(r) if r.isdigit() else 0, r)
    )
    if found:
        return " / ".join(rate_text(r) for r in found)
    return t(f"detail.bucket.{key}")


def _bucket_of(rate: str) -> str | None:
    try:
        vat_rate = VatRate.from_p12(rate)
    except ValueError:
        return None
    bucket = vat_rate.bucket
    return next(k for k, b in BUCKETS.items() if b == bucket)


def vat_rows(buckets: dict[str, Decimal], rates: set[str]) -> tuple[VatRow, ...]:
    """One row per VAT summary group present in the invoice (``P_13_x``/``P_14_x``), in schema order."""
    rows: list[VatRow] = []
    for key, bucket in BUCKETS.items():
        if bucket.net not in buckets and (bucket.tax is None or bucket.tax not in buckets):
            continue
        net = buckets.get(bucket.net, ZERO)
        vat = buckets.get(bucket.tax, ZERO) if bucket.tax else None
        label = t("detail.bucket.11") if key == "11" else _bucket_label(key, rates)
        rows.append(VatRow(label, money(net), money(vat) if vat is not None else "", money(net + (vat or ZERO))))
    return tuple(rows)


def _payment(form: str, *, paid: bool) -> str:
    """The payment method in words, "(paid)" added when the invoice says it was paid (``Zaplacono``)."""
    text = t(f"detail.pay.{form}") if form in PAYMENT_FORMS else ""
    if paid:
        text = f"{text} ({t('detail.paid')})" if text else t("detail.paid")
    return text


# ------------------------------------------------------------------------------------------------ loading


def _qr(profile: Profile, xml: bytes, ksef_number: str) -> tuple[str, str, tuple[tuple[bool, ...], ...]]:
    from ksef_tui.fa.qr import kod1_url_for_invoice, qr_label, qr_modules

    url = kod1_url_for_invoice(profile.qr_environment, xml)
    return url, qr_label(ksef_number or None), tuple(tuple(row) for row in qr_modules(url))


def load_invoice(
    workspace: Workspace, profile: Profile, source: Source, key: str, *, today: date | None = None
) -> InvoiceView:
    """The detail of a purchase (``key`` its KSeF number) or a sale (``key`` its invoice number); an offline
    sale's deadline seen from ``today`` (default: today in Warsaw). Blocking."""
    with workspace.open_store(profile, read_only=True) as store:
        if source == "purchase":
            return _purchase(workspace, profile, store, key)
        return _sale(profile, store, key, today)


def _purchase(workspace: Workspace, profile: Profile, store: Store, key: str) -> InvoiceView:
    from ksef_tui.store.purchases import PurchaseRepository, XmlDamaged

    repo = PurchaseRepository(store)
    record = repo.get(key)
    if record is None or not record.xml_path or not record.xml_sha256:
        raise InvoiceNotFound(ksef_number=key)
    try:
        xml = workspace.xml_store(profile).get(record.xml_path, record.xml_sha256)
    except XmlDamaged as exc:
        raise UserError("detail.xml_damaged", number=key, reason=str(exc)) from None
    links: list[CorrectedLink] = []
    parsed = _parse(xml)
    for ref in parsed.corrected:
        target_key = ref.ksef_number or ""
        known = bool(target_key) and (found := repo.get(target_key)) is not None and bool(found.xml_path)
        links.append(
            CorrectedLink(
                ref.number, ref.ksef_number or "", day(ref.issue_date), ("purchase", target_key) if known else None
            )
        )
    for correction in repo.corrections_of(key):
        target: tuple[Source, str] | None = ("purchase", correction.ksef_number) if correction.xml_path else None
        links.append(
            CorrectedLink(
                correction.invoice_number, correction.ksef_number, day(correction.issue_date), target, corrects=False
            )
        )
    return _view(
        "purchase", key, profile, parsed, xml, record.ksef_number, moment(record.acquisition_date), links, "", "", False
    )


def _sale(profile: Profile, store: Store, key: str, today: date | None = None) -> InvoiceView:
    from ksef_tui.services.mail import load_invoice as load_sale_xml
    from ksef_tui.services.sending import sales_upo_root
    from ksef_tui.store.sales import SalesRepository, SendState

    repo = SalesRepository(store)
    sale = repo.get(key)
    if sale is None:
        raise InvoiceNotFound(ksef_number=key)
    status = sale.status
    invoice = load_sale_xml(store, sale)  # the register's file, checked against its digest, and parsed
    xml, parsed = invoice.xml, invoice.parsed
    links: list[CorrectedLink] = []
    numbers = set(repo.numbers())
    for ref in parsed.corrected:
        sale_target: tuple[Source, str] | None = ("sale", ref.number) if ref.number in numbers else None
        links.append(CorrectedLink(ref.number, ref.ksef_number or "", day(ref.issue_date), sale_target))
    accepted = status.state is SendState.ACCEPTED
    ksef_number = (status.ksef_number or "") if accepted or status.duplicate else ""
    state = t(f"detail.state.{status.state.value}")
    if status.duplicate:
        state = t("detail.state.duplicate", ksef_number=status.ksef_number or "")
    elif status.state is SendState.REJECTED:
        reason = status.error_description or ""
        if status.error_details:
            reason = "; ".join([reason, *status.error_details]) if reason else "; ".join(status.error_details)
        state = t("detail.state.rejected_because", code=status.error_code or "", reason=reason)
    upo = bool(status.upo_path) and (sales_upo_root(store.path) / str(status.upo_path)).is_file()
    view = _view(
        "sale",
        key,
        profile,
        parsed,
        xml,
        ksef_number,
        moment(status.acquisition_date) if accepted else "",
        links,
        state,
        status.state.value,
        upo,
    )
    return _offline(view, sale, today) if sale.record.offline is not None else view


def _offline(view: InvoiceView, sale: Sale, today: date | None) -> InvoiceView:
    """The view of an offline sale with KOD II, its mode and (until KSeF accepts it) its deadline."""
    from dataclasses import replace

    from ksef_tui.fa.kod2 import CERTIFICATE_LABEL
    from ksef_tui.fa.qr import qr_modules
    from ksef_tui.services.offline import deadline_of, deadline_text

    offline = sale.record.offline
    assert offline is not None
    status = deadline_of(sale, today)
    return replace(
        view,
        kod2_url=offline.kod2,
        kod2_label=CERTIFICATE_LABEL,
        kod2_modules=tuple(tuple(row) for row in qr_modules(offline.kod2)),
        offline_mode=t(f"offline.mode.{offline.mode.value}"),
        deadline=deadline_text(status) if status is not None else "",
        deadline_state=status.state.value if status is not None else "",
        deadline_warning=status.warning if status is not None else False,
    )


def _parse(xml: bytes) -> ParsedInvoice:
    from ksef_tui.fa.parse import parse_invoice

    return parse_invoice(xml)


def _view(  # noqa: PLR0917
    source: Source,
    key: str,
    profile: Profile,
    parsed: ParsedInvoice,
    xml: bytes,
    ksef_number: str,
    acquired: str,
    links: list[CorrectedLink],
    state: str,
    state_code: str,
    has_upo: bool,
) -> InvoiceView:
    lines = tuple(
        LineView(
            line.number,
            (line.name or "") + (f" ({t('detail.before')})" if line.before else ""),
            line.unit or "",
            quantity(line.quantity),
            money(line.unit_net),
            rate_text(line.rate),
            money(line.net),
        )
        for line in parsed.lines
    )
    rates = {line.rate for line in parsed.lines if line.rate}
    form = str(parsed.payment_form) if parsed.payment_form is not None else ""
    url, label, modules = _qr(profile, xml, ksef_number)
    return InvoiceView(
        source=source,
        key=key,
        number=parsed.number,
        kind=parsed.kind,
        kind_text=t(f"detail.kind.{parsed.kind}"),
        ksef_number=ksef_number,
        issue_date=day(parsed.issue_date),
        sale_date=day(parsed.sale_date),
        acquired=acquired,
        seller=_party(parsed.seller.id_type, parsed.seller.id, parsed.seller.name, parsed.seller.address),
        buyer=_party(parsed.buyer.id_type, parsed.buyer.id, parsed.buyer.name, parsed.buyer.address),
        currency=parsed.currency,
        lines=lines,
        vat_rows=vat_rows(parsed.buckets, rates),
        net=money(parsed.net_total),
        vat=money(parsed.vat_total),
        gross=money(parsed.gross),
        payment_form=_payment(form, paid=parsed.paid),
        payment_due=", ".join(day(d) for d in parsed.payment_due),
        bank_accounts=parsed.bank_accounts,
        corrections=tuple(links),
        correction_reason=parsed.correction_reason or "",
        send_state=state,
        send_state_code=state_code,
        has_upo=has_upo,
        qr_url=url,
        qr_label=label,
        qr_modules=modules,
        xml=xml,
    )


# ------------------------------------------------------------------------------------------------ saving

What = Literal["html", "xml", "upo"]
_SUFFIX: dict[str, str] = {"html": ".html", "xml": ".xml", "upo": "-UPO.xml"}


def default_path(view: InvoiceView, what: What) -> str:
    """``~/<KSeF number or invoice number>.html`` (``.xml``, ``-UPO.xml``)."""
    return f"~/{view.file_stem}{_SUFFIX[what]}"


def visualisation(view: InvoiceView) -> bytes:
    """The official visualisation (MF's stylesheet) with the KSeF number, KOD I and (offline) KOD II. Blocking."""
    from ksef_tui.fa.render import render_html

    return render_html(
        view.xml, ksef_number=view.ksef_number or None, qr_url=view.qr_url, kod2_url=view.kod2_url or None
    ).encode("utf-8")


def local_upo(workspace: Workspace, profile: Profile, view: InvoiceView) -> bytes:
    """The saved UPO of an accepted sale. Blocking."""
    from ksef_tui.services.sending import local_upo as find

    if view.source != "sale" or not view.ksef_number:
        raise UserError("detail.no_upo", category=Category.INPUT)
    with workspace.open_store(profile, read_only=True) as store:
        _sale, path = find(store, view.ksef_number)
    if path is None:
        raise UserError("detail.no_upo", category=Category.INPUT)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PathError(path, exc, category=Category.CONFIG) from None


def content(workspace: Workspace, profile: Profile, view: InvoiceView, what: What) -> bytes:
    """The bytes to save: the visualisation, the invoice XML as stored, or the UPO. Blocking."""
    if what == "html":
        return visualisation(view)
    if what == "xml":
        return view.xml
    return local_upo(workspace, profile, view)


def save_new(data: bytes, where: str) -> Path:
    """Write ``data`` to ``where`` (``~`` expanded); an existing file is never overwritten. Blocking."""
    if not where.strip():
        raise UserError("detail.save.no_path", category=Category.INPUT)
    path = Path(where.strip()).expanduser()
    try:
        with path.open("xb") as handle:
            handle.write(data)
    except FileExistsError:
        raise UserError("detail.save.exists", path=path) from None
    except OSError as exc:
        raise PathError(path, exc) from None
    return path


def save_temporary(view: InvoiceView) -> Path:
    """The visualisation in a new temporary file (to open in a browser or tell the user where it is). Blocking."""
    handle, name = tempfile.mkstemp(prefix=f"ksef-{view.file_stem}-", suffix=".html")
    with os.fdopen(handle, "wb") as out:
        out.write(visualisation(view))
    return Path(name)


def has_display() -> bool:
    """A graphical session a browser could open in (not a plain SSH login)."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) and not os.environ.get("SSH_CONNECTION")


def open_in_browser(path: Path) -> bool:
    """Open ``path`` in the user's browser when a display is present; ``False`` when not (or it failed)."""
    if not has_display():
        return False
    import webbrowser

    try:
        return webbrowser.open(path.as_uri())
    except webbrowser.Error:
        return False


__all__ = [
    "CorrectedLink",
    "InvoiceNotFound",
    "InvoiceView",
    "LineView",
    "PartyView",
    "VatRow",
    "content",
    "default_path",
    "load_invoice",
    "open_in_browser",
    "save_new",
    "save_temporary",
]
