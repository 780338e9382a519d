"""The FA(3)/FA(2) reader against the official samples: values read from each document, corrections, the
FA(2) rate mapping, and the errors for documents that cannot be read."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ksef_tui.errors import EXIT_CODES, Category, UserError, report
from ksef_tui.fa.parse import (
    CorrectedRef,
    InvoiceParseError,
    ParsedLine,
    Party,
    parse_element,
    parse_invoice,
)
from ksef_tui.fa.xmlsafe import parse_bytes

D = Decimal
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

ABC_AGD = "ABC AGD sp. z o. o."
KOWALSKI = "F.H.U. Jan Kowalski"
KSEF_1 = "9999999999-20230908-8BEF280C8D35-4D"


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class Want(NamedTuple):
    """The values of one sample, written out from the document by hand."""

    schema: str
    kind: str
    number: str
    issue_date: str
    seller: tuple[str, str]
    buyer: tuple[str, str | None, str | None]
    currency: str
    gross: str
    buckets: dict[str, str]
    lines: int
    corrected: tuple[tuple[str | None, str, str], ...] = ()

    def json(self) -> dict[str, object]:
        """What ``ParsedInvoice.to_json`` must return."""
        return {
            "schema": self.schema,
            "type": self.kind,
            "number": self.number,
            "issue_date": self.issue_date,
            "seller": {"nip": self.seller[0], "name": self.seller[1]},
            "buyer": {"id_type": self.buyer[0], "id": self.buyer[1], "name": self.buyer[2]},
            "currency": self.currency,
            "gross": self.gross,
            "buckets": self.buckets,
            "lines": self.lines,
            "corrected": [
                {"ksef_number": ksef, "number": number, "issue_date": day} for ksef, number, day in self.corrected
            ],
        }


FA3 = "FA (3)"
FA2 = "FA (2)"
SELLER_ABC = ("9999999999", ABC_AGD)
BUYER_KOWALSKI = ("Nip", "1111111111", KOWALSKI)
SIX_CORRECTED = (
    (KSEF_1, "FV2026/01/134", "2026-01-15"),
    ("9999999999-20230908-76B2B580D4DC-80", "FV2026/02/150", "2026-02-15"),
    ("9999999999-20230908-4191312C0E57-09", "FV2026/03/143", "2026-03-15"),
    ("9999999999-20230908-2B9266CEF3C4-DD", "FV2026/04/23", "2026-04-15"),
    ("9999999999-20230908-16B99491C78B-3D", "FV2026/05/54", "2026-05-15"),
    ("9999999999-20230908-D08FB95950BE-3E", "FV2026/06/15", "2026-06-15"),
)

EXPECTED: dict[str, Want] = {
    "fa3/FA3_example_1.xml": Want(
        FA3, "VAT", "FV2026/02/150", "2026-02-15", SELLER_ABC, BUYER_KOWALSKI, "PLN", "2051.00",
        {"P_13_1": "1666.66", "P_14_1": "383.33", "P_13_3": "0.95", "P_14_3": "0.05"}, 3,
    ),
    "fa3/FA3_example_2.xml": Want(
        FA3, "KOR", "FK2026/03/200", "2026-03-15", SELLER_ABC, BUYER_KOWALSKI, "PLN", "-200.00",
        {"P_13_1": "-162.60", "P_14_1": "-37.40"}, 2,
        ((KSEF_1, "FV2026/02/150", "2026-02-15"),),
    ),
    "fa3/FA3_example_3.xml": Want(
        FA3, "KOR", "FK2026/03/200", "2026-03-15", SELLER_ABC, BUYER_KOWALSKI, "PLN", "-200.00",
        {"P_13_1": "-162.60", "P_14_1": "-37.40"}, 1,
        ((KSEF_1, "FV2026/02/150", "2026-02-15"),),
    ),
    "fa3/FA3_example_4.xml": Want(
        FA3, "VAT", "FV2026/02/150", "2026-02-15", SELLER_ABC, ("Nip", "1111111111", "CDE sp. j."), "PLN",
        "64279.92", {"P_13_1": "52260.10", "P_14_1": "12019.82"}, 3,
    ),
    "fa3/FA3_example_5.xml": Want(
        FA3, "KOR", "FK2026/04/23", "2026-04-01", SELLER_ABC, ("Nip", "1111111111", "CeDeE s.c."), "PLN",
        "0.00", {}, 0, ((KSEF_1, "FV2026/02/150", "2026-02-15"),),
    ),
    "fa3/FA3_example_6.xml": Want(
        FA3, "KOR", "FK2026/07/243", "2026-07-15", SELLER_ABC, ("Nip", "1111111111", "CeDeE s.c."), "PLN",
        "-50000.00", {"P_13_1": "-40650.41", "P_14_1": "-9349.59"}, 0, SIX_CORRECTED,
    ),
    "fa3/FA3_example_7.xml": Want(
        FA3, "KOR", "FK2026/07/243", "2026-07-15", SELLER_ABC, ("Nip", "1111111111", "CeDeE s.c."), "PLN",
        "-50000.00", {"P_13_1": "-40650.41", "P_14_1": "-9349.59"}, 1, SIX_CORRECTED,
    ),
    "fa3/FA3_example_8.xml": Want(
        FA3, "VAT", "FM2026/02/150", "2026-02-27", ("9999999999", "Komis ABC AGD sp. z o. o."),
        BUYER_KOWALSKI, "PLN", "15000.00", {"P_13_11": "15000.00"}, 1,
    ),
    "fa3/FA3_example_9.xml": Want(
        FA3, "VAT", "FV2026/02/150", "2026-02-15", ("9999999999", "ABC Leasing S.A."),
        ("Nip", "1111111111", "Gmina Bzdziszewo"), "PLN", "2760.00",
        {"P_13_1": "2000.00", "P_14_1": "460.00", "P_13_7": "300.00"}, 2,
    ),
    "fa3/FA3_example_12.xml": Want(
        FA3, "KOR_ZAL", "FK2026/03/7", "2026-03-17", ("9999999999", "ABC Developex sp. z o. o."),
        BUYER_KOWALSKI, "PLN", "10000.00",
        {"P_13_1": "133.28", "P_14_1": "30.65", "P_13_2": "9107.47", "P_14_2": "728.60"}, 0,
        ((KSEF_1, "FZ2026/02/150", "2026-02-15"),),
    ),
    "fa3/FA3_example_13.xml": Want(
        FA3, "KOR_ZAL", "FK2026/03/7", "2026-03-17", ("9999999999", "ABC Developex sp. z o. o."),
        BUYER_KOWALSKI, "PLN", "0.00", {}, 0, ((KSEF_1, "FZ2026/02/150", "2026-02-15"),),
    ),
    "fa3/FA3_example_15.xml": Want(
        FA3, "UPR", "FV2026/02/150", "2026-02-15", SELLER_ABC, ("Nip", "1111111111", None), "PLN", "450.00",
        {"P_13_1": "365.85", "P_14_1": "84.15"}, 1,
    ),
    "fa3/FA3_example_16.xml": Want(
        FA3, "UPR", "FV2026/02/150", "2026-02-15", SELLER_ABC, ("Nip", "1111111111", None), "PLN", "450.00",
        {}, 1,
    ),
    "fa3/FA3_example_20.xml": Want(
        FA3, "VAT", "FV2026/02/150", "2026-02-15", SELLER_ABC, ("Nip", "1111111111", "CDE sp. j."), "EUR",
        "16678.80", {"P_13_1": "13560.00", "P_14_1": "3118.80", "P_14_1W": "14036.16"}, 3,
    ),
    "fa3/FA3_example_22.xml": Want(
        FA3, "VAT", "FV2026/02/150", "2026-02-15", SELLER_ABC, ("UE", "DE999999999", "EFG GmbH"), "EUR",
        "4000.00", {"P_13_6_2": "4000.00"}, 1,
    ),
    "fa3/FA3_example_23.xml": Want(
        FA3, "VAT", "FV2026/02/150", "2026-06-15", SELLER_ABC, ("Other", "999999999", "EFG Ltd."), "USD",
        "8000.00", {"P_13_6_3": "8000.00"}, 1,
    ),
    "fa3/fa3_basic_vat_23_8.xml": Want(
        FA3, "VAT", "FV/2/2026", "2026-02-01", ("9999999999", "Sprzedawca sp. z o.o."),
        ("Nip", "1111111111", "Nabywca S.A."), "PLN", "300.00",
        {"P_13_1": "200.00", "P_14_1": "46.00", "P_13_2": "50.00", "P_14_2": "4.00"}, 2,
    ),
    "fa3/fa3_minimal_xsd_valid.xml": Want(
        FA3, "VAT", "FV/1/2026", "2026-02-01", ("9999999999", "Sprzedawca sp. z o.o."),
        ("Nip", "1111111111", "Nabywca S.A."), "PLN", "123.00", {}, 0,
    ),
    "fa2/FA2_korygujaca__FA_2_Przyklad_2.xml": Want(
        FA2, "KOR", "FK2022/03/200", "2022-03-15", SELLER_ABC, BUYER_KOWALSKI, "PLN", "-200.00",
        {"P_13_1": "-162.60", "P_14_1": "-37.40"}, 2,
        ((KSEF_1, "FV2022/02/150", "2022-02-15"),),
    ),
    "fa2/FA2_podstawowa__FA_2_Przyklad_4.xml": Want(
        FA2, "VAT", "15/2024", "2024-10-21", ("5451824119", "Codeque Karol Bryzgiel"),
        ("Nip", "4660430720", "itrust"), "EUR", "123.00",
        {"P_13_1": "100.00", "P_14_1": "23.00", "P_14_1W": "99.36"}, 2,
    ),
    "fa2/FA2_uproszczona__FA_2_Przyklad_15.xml": Want(
        FA2, "UPR", "FV2022/02/150", "2022-02-15", SELLER_ABC, ("Nip", "1111111111", None), "PLN", "450.00",
        {"P_13_1": "365.85", "P_14_1": "84.15"}, 1,
    ),
    "fa2/FA2_zaliczkowa__FA_2_Przyklad_10.xml": Want(
        FA2, "ZAL", "FZ2022/02/150", "2022-02-15", ("9999999999", "ABC Developex sp. z o. o."),
        BUYER_KOWALSKI, "PLN", "20000.00", {"P_13_1": "16260.16", "P_14_1": "3739.84"}, 0,
    ),
}  # fmt: skip


def all_fixtures() -> list[str]:
    return sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("fa[23]/*.xml"))


def test_every_fixture_has_expected_values() -> None:
    assert sorted(EXPECTED) == all_fixtures()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_values(name: str) -> None:
    invoice = parse_invoice(read(name))
    assert invoice.to_json() == EXPECTED[name].json()
    # The JSON order of the buckets is the schema order.
    buckets = invoice.to_json()["buckets"]
    assert isinstance(buckets, dict)
    assert list(buckets) == list(invoice.buckets) == list(EXPECTED[name].buckets)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_model_matches_json(name: str) -> None:
    """The typed model agrees with the JSON view (Decimals, dates)."""
    invoice = parse_invoice(read(name))
    want = EXPECTED[name]
    assert invoice.gross == D(want.gross)
    assert invoice.issue_date == date.fromisoformat(want.issue_date)
    assert invoice.buckets == {k: D(v) for k, v in want.buckets.items()}
    assert all(isinstance(v, Decimal) for v in invoice.buckets.values())
    assert len(invoice.lines) == want.lines
    assert tuple((r.ksef_number, r.number, r.issue_date.isoformat()) for r in invoice.corrected) == want.corrected
    assert invoice.created_at.tzinfo is not None


# --- detailed reads ---------------------------------------------------------------------------------------


def test_example_1_in_full() -> None:
    inv = parse_invoice(read("fa3/FA3_example_1.xml"))
    assert inv.schema == "FA (3)"
    assert inv.kind == "VAT"
    assert inv.sale_date == date(2026, 1, 27)
    assert inv.period is None
    assert inv.place == "Warszawa"
    assert inv.created_at == datetime(2026, 2, 1, tzinfo=UTC)
    assert inv.system_info == "SamploFaktur"
    assert inv.seller == Party(
        id_type="Nip",
        id="9999999999",
        name=ABC_AGD,
        country="PL",
        address=("ul. Kwiatowa 1 m. 2", "00-001 Warszawa"),
        email="abc@abc.pl",
        phone="667444555",
    )
    assert inv.buyer == Party(
        "Nip",
        "1111111111",
        KOWALSKI,
        "PL",
        ("ul. Polna 1", "00-001 Warszawa"),
        "jan@kowalski.pl",
        "555777999",
    )
    assert inv.currency == "PLN"
    assert inv.buckets == {
        "P_13_1": D("1666.66"),
        "P_14_1": D("383.33"),
        "P_13_3": D("0.95"),
        "P_14_3": D("0.05"),
    }
    assert inv.net_total == D("1667.61")
    assert inv.vat_total == D("383.38")
    # The official sample's buckets add up to 2050.99, one grosz short of its P_15 (2000 + 50 + 1 gross):
    # the reader reports what the document says and does not "fix" it.
    assert inv.net_total + inv.vat_total == D("2050.99")
    assert inv.gross == D("2051")
    assert inv.amount_due is None
    fields = [(li.number, li.name, li.unit, li.quantity, li.unit_net, li.net, li.rate) for li in inv.lines]
    assert fields == [
        ("1", "lodówka Zimnotech mk1", "szt.", D(1), D("1626.01"), D("1626.01"), "23"),
        ("2", "wniesienie sprzętu", "szt.", D(1), D("40.65"), D("40.65"), "23"),
        ("3", "promocja lodówka pełna mleka", "szt.", D(1), D("0.95"), D("0.95"), "5"),
    ]
    assert inv.lines[0] == ParsedLine(
        number="1",
        name="lodówka Zimnotech mk1",
        unit="szt.",
        quantity=D(1),
        unit_net=D("1626.01"),
        unit_gross=None,
        net=D("1626.01"),
        gross=None,
        vat=None,
        rate="23",
        exchange_rate=None,
        before=False,
    )
    assert inv.corrected == ()
    assert inv.correction_reason is None
    assert inv.correction_type is None
    assert inv.payment_due == ()
    assert inv.payment_form == 6
    assert inv.bank_accounts == ()
    assert inv.paid is True  # Zaplacono = 1
    assert (inv.reverse_charge, inv.split_payment, inv.cash_accounting, inv.self_billing) == (False,) * 4
    assert inv.exemption is None
    assert inv.margin is False


def test_correction_example_2() -> None:
    inv = parse_invoice(read("fa3/FA3_example_2.xml"))
    assert inv.kind == "KOR"
    assert inv.corrected == (CorrectedRef(KSEF_1, "FV2026/02/150", date(2026, 2, 15)),)
    assert inv.buckets == {"P_13_1": D("-162.60"), "P_14_1": D("-37.40")}
    assert inv.gross == D("-200.00")
    assert inv.correction_reason == "obniżka ceny o 200 zł z uwagi na uszkodzenia estetyczne"
    assert inv.correction_type == 3
    before, after = inv.lines
    assert (before.number, after.number) == ("1", "1")
    assert before.before is True
    assert after.before is False
    assert (before.net, after.net) == (D("1626.01"), D("1463.41"))
    assert after.net is not None
    assert before.net is not None
    assert after.net - before.net == inv.buckets["P_13_1"]
    assert inv.to_json()["gross"] == "-200.00"


def test_fa2_correction_reads_like_fa3() -> None:
    fa2 = parse_invoice(read("fa2/FA2_korygujaca__FA_2_Przyklad_2.xml"))
    fa3 = parse_invoice(read("fa3/FA3_example_2.xml"))
    assert fa2.schema == "FA (2)"
    assert [(li.number, li.before, li.net, li.rate) for li in fa2.lines] == [
        (li.number, li.before, li.net, li.rate) for li in fa3.lines
    ]
    assert fa2.corrected == (CorrectedRef(KSEF_1, "FV2022/02/150", date(2022, 2, 15)),)


def test_rozliczenie_and_factor_account_example_4() -> None:
    inv = parse_invoice(read("fa3/FA3_example_4.xml"))
    assert inv.amount_due == D("63279.92")  # P_15 minus the 1000 deduction
    assert inv.gross == D("64279.92")
    assert inv.payment_due == (date(2026, 3, 15),)
    assert inv.payment_form == 6
    assert inv.bank_accounts == ()  # only RachunekBankowyFaktora, which is not read
    assert inv.paid is False


def test_margin_scheme_example_8() -> None:
    inv = parse_invoice(read("fa3/FA3_example_8.xml"))
    assert inv.margin is True
    assert inv.paid is False  # ZnacznikZaplatyCzesciowej = 1: paid in part
    assert inv.bank_accounts == ("73111111111111111111111111",)
    assert inv.payment_due == ()  # TerminOpis only
    (line,) = inv.lines
    assert line.rate is None
    assert (line.unit_gross, line.gross, line.net) == (D(15000), D(15000), None)
    assert inv.buckets == {"P_13_11": D(15000)}


def test_period_and_exemption_example_9() -> None:
    inv = parse_invoice(read("fa3/FA3_example_9.xml"))
    assert inv.sale_date is None
    assert inv.period == (date(2026, 1, 1), date(2026, 1, 1))
    assert inv.exemption == "art. 43 ust. 1 pkt 37 ustawy VAT"
    assert [li.rate for li in inv.lines] == ["23", "zw"]
    assert inv.net_total == D(2300)
    assert inv.vat_total == D(460)
    assert inv.payment_due == (date(2026, 3, 15),)
    assert inv.bank_accounts == ("73111111111111111111111111",)


def test_foreign_currency_example_20() -> None:
    inv = parse_invoice(read("fa3/FA3_example_20.xml"))
    assert inv.currency == "EUR"
    assert [li.exchange_rate for li in inv.lines] == [D("4.5005")] * 3
    assert inv.vat_total == D("3118.80")  # P_14_1W (PLN) is not part of the total
    assert inv.buckets["P_14_1W"] == D("14036.16")


def test_buyer_identification_variants() -> None:
    ue = parse_invoice(read("fa3/FA3_example_22.xml")).buyer
    assert (ue.id_type, ue.id, ue.country) == ("UE", "DE999999999", "DE")
    assert ue.address == ("Blümchenstraße 1", "10999 Berlin")
    other = parse_invoice(read("fa3/FA3_example_23.xml")).buyer
    assert (other.id_type, other.id, other.country, other.email) == (
        "Other",
        "999999999",
        "US",
        "john@smith.us",
    )
    bare = parse_invoice(read("fa3/FA3_example_15.xml")).buyer
    assert bare == Party("Nip", "1111111111", None, None, (), None, None)


def test_buyer_without_identifier_and_other_without_address() -> None:
    data = read("fa3/FA3_example_23.xml")
    no_address = replace_once(data, rb"<Adres>\s*<KodKraju>US</KodKraju>.*?</Adres>", b"")
    other = parse_invoice(no_address).buyer
    assert (other.id_type, other.country, other.address) == ("Other", "US", ())
    brak = replace_once(data, rb"<KodKraju>US</KodKraju>\s*<NrID>999999999</NrID>", b"<BrakID>1</BrakID>")
    buyer = parse_invoice(brak).buyer
    assert (buyer.id_type, buyer.id, buyer.name, buyer.country) == ("None", None, "EFG Ltd.", "US")
    assert parse_invoice(brak).to_json()["buyer"] == {"id_type": "None", "id": None, "name": "EFG Ltd."}


def test_fa2_sample_4_gross_priced_line_and_partial_payment() -> None:
    inv = parse_invoice(read("fa2/FA2_podstawowa__FA_2_Przyklad_4.xml"))
    assert inv.created_at == datetime(2024, 10, 21, 14, 24, 32, 646348, tzinfo=timezone(timedelta(hours=2)))
    assert inv.system_info == "Aplikacja Podatnika KSeF"
    first, second = inv.lines
    assert (first.unit_gross, first.gross, first.net, first.exchange_rate) == (
        D(123),
        D(123),
        None,
        D("4.32"),
    )
    assert (second.quantity, second.unit_net, second.net, second.rate) == (
        D("2.561"),
        D(1350),
        D("3457.35"),
        "zw",
    )
    assert inv.paid is False  # ZnacznikZaplatyCzesciowej = 1
    assert inv.payment_form is None
    # The exempt line is not in any header bucket: the sample's summary covers only the 23 % line.
    assert "P_13_7" not in inv.buckets


def test_text_is_stripped() -> None:
    data = swap(read("fa3/FA3_example_1.xml"), b"<P_2>FV2026/02/150</P_2>", b"<P_2>\n  FV2026/02/150 \t</P_2>")
    assert parse_invoice(data).number == "FV2026/02/150"


def test_paid_in_full_in_parts() -> None:
    data = swap(
        read("fa3/FA3_example_8.xml"),
        b"<ZnacznikZaplatyCzesciowej>1</ZnacznikZaplatyCzesciowej>",
        b"<ZnacznikZaplatyCzesciowej>2</ZnacznikZaplatyCzesciowej>",
    )
    assert parse_invoice(data).paid is True


def test_flags_reverse_charge_split_payment_cash_self_billing() -> None:
    data = read("fa3/FA3_example_1.xml")
    for tag in (b"P_16", b"P_17", b"P_18", b"P_18A"):
        data = swap(data, b"<%s>2</%s>" % (tag, tag), b"<%s>1</%s>" % (tag, tag))
    inv = parse_invoice(data)
    assert (inv.cash_accounting, inv.self_billing, inv.reverse_charge, inv.split_payment) == (True,) * 4


def swap(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace text that must be there (so a test never passes on an unchanged sample)."""
    assert old in data, old
    return data.replace(old, new)


def replace_once(data: bytes, pattern: bytes, new: bytes) -> bytes:
    """``re.sub`` that insists on exactly one match (the samples use CRLF line ends and tabs)."""
    result, count = re.subn(pattern, new, data, count=1, flags=re.S)
    assert count == 1, pattern
    return result


def test_corrected_invoice_outside_ksef() -> None:
    data = replace_once(
        read("fa3/FA3_example_2.xml"),
        rb"<NrKSeF>1</NrKSeF>\s*<NrKSeFFaKorygowanej>[^<]*</NrKSeFFaKorygowanej>",
        b"<NrKSeFN>1</NrKSeFN>",
    )
    inv = parse_invoice(data)
    assert inv.corrected == (CorrectedRef(None, "FV2026/02/150", date(2026, 2, 15)),)
    assert inv.to_json()["corrected"] == [{"ksef_number": None, "number": "FV2026/02/150", "issue_date": "2026-02-15"}]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("2023-10-03T12:34:13.7802571Z", datetime(2023, 10, 3, 12, 34, 13, 780257, tzinfo=UTC)),
        ("2023-10-03T12:34:13.5Z", datetime(2023, 10, 3, 12, 34, 13, 500000, tzinfo=UTC)),
        ("2023-10-03T12:34:13-05:30", datetime(2023, 10, 3, 18, 4, 13, tzinfo=UTC)),
        ("2023-10-03T12:34:13", datetime(2023, 10, 3, 10, 34, 13, tzinfo=UTC)),  # no zone: Europe/Warsaw (CEST)
    ],
)
def test_created_at(text: str, want: datetime) -> None:
    data = swap(read("fa3/FA3_example_1.xml"), b"2026-02-01T00:00:00Z", text.encode())
    created = parse_invoice(data).created_at
    assert created == want
    assert created.tzinfo is not None


# --- FA(2) line rates 0 and np ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p12", "header_buckets", "want"),
    [
        ("0", (), "0 KR"),
        ("0", ("P_13_6_1",), "0 KR"),
        ("0", ("P_13_6_2",), "0 WDT"),
        ("0", ("P_13_6_3",), "0 EX"),
        ("0", ("P_13_6_2", "P_13_6_3"), "0 WDT"),
        ("np", (), "np I"),
        ("np", ("P_13_8",), "np I"),
        ("np", ("P_13_9",), "np II"),
        ("np", ("P_13_8", "P_13_9"), "np I"),
        ("zw", ("P_13_6_2", "P_13_9"), "zw"),
        ("23", ("P_13_6_3",), "23"),
    ],
)
def test_fa2_zero_and_np_rates(p12: str, header_buckets: tuple[str, ...], want: str) -> None:
    data = read("fa2/FA2_podstawowa__FA_2_Przyklad_4.xml")
    extra = b"".join(b"<%s>10</%s>" % (b.encode(), b.encode()) for b in header_buckets)
    data = swap(data, b"<P_15>123</P_15>", extra + b"<P_15>123</P_15>")
    data = swap(data, b"<P_12>zw</P_12>", f"<P_12>{p12}</P_12>".encode())
    inv = parse_invoice(data)
    assert inv.lines[1].rate == want
    assert inv.lines[0].rate == "23"
    assert list(inv.buckets) == ["P_13_1", "P_14_1", "P_14_1W", *header_buckets]


def test_fa3_rates_are_kept() -> None:
    assert [li.rate for li in parse_invoice(read("fa3/FA3_example_22.xml")).lines] == ["0 WDT"]
    assert [li.rate for li in parse_invoice(read("fa3/FA3_example_23.xml")).lines] == ["0 EX"]


def test_buckets_follow_schema_order_not_document_order() -> None:
    data = replace_once(
        read("fa3/FA3_example_1.xml"),
        rb"<P_13_1>1666.66</P_13_1>\s*<P_14_1>383.33</P_14_1>\s*<P_13_3>0.95</P_13_3>\s*<P_14_3>0.05</P_14_3>",
        b"<P_13_3>0.95</P_13_3><P_14_3>0.05</P_14_3><P_13_1>1666.66</P_13_1><P_14_1>383.33</P_14_1>",
    )
    assert list(parse_invoice(data).buckets) == ["P_13_1", "P_14_1", "P_13_3", "P_14_3"]


def test_parse_element_on_a_parsed_tree() -> None:
    root = parse_bytes(read("fa3/FA3_example_1.xml")).getroot()
    assert parse_element(root).to_json() == EXPECTED["fa3/FA3_example_1.xml"].json()


# --- errors -----------------------------------------------------------------------------------------------


def test_not_xml() -> None:
    with pytest.raises(InvoiceParseError) as err:
        parse_invoice(b'<?xml version="1.0"?>\n<Faktura>\n  <Fa>\n</Faktura>\n')
    assert err.value.line == 4
    assert "not well-formed XML" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("data", [b"", b"   ", b"not xml at all", b"\xff\xfe<\x00a\x00", b"<a>&undefined;</a>"])
def test_garbage_is_not_xml(data: bytes) -> None:
    with pytest.raises(InvoiceParseError, match="not well-formed XML"):
        parse_invoice(data)


@pytest.mark.parametrize(
    "data",
    [
        b"<Faktura><Fa/></Faktura>",
        b'<Faktura xmlns="http://crd.gov.pl/wzor/2021/11/29/11089/"><Fa/></Faktura>',
        b'<Potwierdzenie xmlns="http://upo.schematy.mf.gov.pl/KSeF/v4-3"/>',
        b'<Naglowek xmlns="http://crd.gov.pl/wzor/2025/06/25/13775/"/>',
    ],
)
def test_wrong_namespace_or_root(data: bytes) -> None:
    with pytest.raises(InvoiceParseError, match=r"not an FA\(3\) or FA\(2\) invoice") as err:
        parse_invoice(data)
    assert err.value.line == 1


def test_upo_fixture_is_not_an_invoice() -> None:
    with pytest.raises(InvoiceParseError, match="not an FA"):
        parse_invoice(read("upo/upo-faktura-kontekst-id-nip.xml"))


def test_missing_p_2() -> None:
    data = swap(read("fa3/FA3_example_1.xml"), b"<P_2>FV2026/02/150</P_2>", b"")
    with pytest.raises(InvoiceParseError) as err:
        parse_invoice(data)
    assert "<P_2>" in str(err.value)
    assert "<Fa>" in str(err.value)
    assert err.value.line == 43  # the line of <Fa>
    assert str(err.value) == "line 43: missing <P_2> in <Fa>"


def test_missing_p_2_in_fa2() -> None:
    data = swap(read("fa2/FA2_zaliczkowa__FA_2_Przyklad_10.xml"), b"<P_2>FZ2022/02/150</P_2>", b"")
    with pytest.raises(InvoiceParseError, match=r"missing <P_2> in <Fa>"):
        parse_invoice(data)


@pytest.mark.parametrize(
    ("old", "new", "element"),
    [
        (b"<Podmiot2>", b"<PodmiotX>", "Podmiot2"),
        (b"<NIP>9999999999</NIP>", b"", "NIP"),
        (b"<KodWaluty>PLN</KodWaluty>", b"", "KodWaluty"),
        (b"<P_15>2051</P_15>", b"", "P_15"),
        (b"<RodzajFaktury>VAT</RodzajFaktury>", b"", "RodzajFaktury"),
        (b"<DataWytworzeniaFa>2026-02-01T00:00:00Z</DataWytworzeniaFa>", b"", "DataWytworzeniaFa"),
        (b"<NrWierszaFa>2</NrWierszaFa>", b"", "NrWierszaFa"),
    ],
)
def test_missing_required_elements(old: bytes, new: bytes, element: str) -> None:
    data = read("fa3/FA3_example_1.xml")
    assert old in data
    if old == b"<Podmiot2>":
        data = swap(data, b"</Podmiot2>", b"</PodmiotX>")
    with pytest.raises(InvoiceParseError, match=f"missing <{element}>") as err:
        parse_invoice(data.replace(old, new, 1))
    assert err.value.line is not None


def test_empty_required_element() -> None:
    data = swap(read("fa3/FA3_example_1.xml"), b"<P_2>FV2026/02/150</P_2>", b"<P_2>  </P_2>")
    with pytest.raises(InvoiceParseError, match="<P_2> is empty") as err:
        parse_invoice(data)
    assert err.value.line == 47


@pytest.mark.parametrize("bad", ["12,50", "abc", "1e3", "NaN", "1 000", "", "Infinity"])
def test_bad_amount(bad: str) -> None:
    data = swap(read("fa3/FA3_example_1.xml"), b"<P_15>2051</P_15>", f"<P_15>{bad}</P_15>".encode())
    with pytest.raises(InvoiceParseError, match=r"<P_15> is not a valid amount") as err:
        parse_invoice(data)
    assert err.value.line == 53


def test_bad_amount_in_a_line_and_bucket() -> None:
    data = swap(read("fa3/FA3_example_1.xml"), b"<P_9A>40.65</P_9A>", b"<P_9A>40.65 PLN</P_9A>")
    with pytest.raises(InvoiceParseError, match=r"line 92: <P_9A> is not a valid amount: '40.65 PLN'"):
        parse_invoice(data)
    data = swap(read("fa3/FA3_example_1.xml"), b"<P_14_1>383.33</P_14_1>", b"<P_14_1>x</P_14_1>")
    with pytest.raises(InvoiceParseError, match=r"<P_14_1> is not a valid amount") as err:
        parse_invoice(data)
    assert err.value.line == 50


@pytest.mark.parametrize(
    ("old", "new", "element"),
    [
        (b"<P_1>2026-02-15</P_1>", b"<P_1>2026-02-30</P_1>", "P_1"),
        (b"<P_1>2026-02-15</P_1>", b"<P_1>15.02.2026</P_1>", "P_1"),
        (b"<P_6>2026-01-27</P_6>", b"<P_6>20260127</P_6>", "P_6"),
        (b"2026-02-01T00:00:00Z", b"2026-02-01 00:00:00", "DataWytworzeniaFa"),
        (b"2026-02-01T00:00:00Z", b"2026-02-01T25:00:00Z", "DataWytworzeniaFa"),
        (b"2026-02-01T00:00:00Z", b"2026-02-01T00:00:00+99:00", "DataWytworzeniaFa"),
        (
            b"<FormaPlatnosci>6</FormaPlatnosci>",
            b"<FormaPlatnosci>przelew</FormaPlatnosci>",
            "FormaPlatnosci",
        ),
        (b"<RodzajFaktury>VAT</RodzajFaktury>", b"<RodzajFaktury>FAKE</RodzajFaktury>", "RodzajFaktury"),
    ],
)
def test_malformed_values(old: bytes, new: bytes, element: str) -> None:
    data = read("fa3/FA3_example_1.xml")
    assert old in data
    with pytest.raises(InvoiceParseError, match=f"<{element}> is not a valid") as err:
        parse_invoice(data.replace(old, new, 1))
    assert err.value.line is not None


def test_error_is_a_value_error_with_one_line_message() -> None:
    err = InvoiceParseError("parse.unreadable", line=7, detail="two\nlines")
    assert isinstance(err, ValueError)
    assert str(err) == "line 7: cannot read the invoice: two lines"
    assert err.line == 7
    assert InvoiceParseError("parse.empty", name="P_2").line is None
    assert str(InvoiceParseError("parse.empty", name="P_2")) == "<P_2> is empty"


def test_error_is_a_user_error_translated_when_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    data = swap(read("fa3/FA3_example_1.xml"), b"<P_15>2051</P_15>", b"<P_15>12,50</P_15>")
    with pytest.raises(InvoiceParseError) as err:
        parse_invoice(data)
    assert isinstance(err.value, UserError)
    assert err.value.category is Category.INPUT  # a file show cannot read: exit 2, as before
    assert report(err.value).exit_code == EXIT_CODES[Category.INPUT] == 2
    assert err.value.message() == "line 53: <P_15> is not a valid amount: '12,50'"
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")  # raised in English mode, shown in Polish: translated when shown
    assert err.value.message() == "wiersz 53: <P_15> nie jest poprawną wartością typu kwota: '12,50'"
    assert str(err.value) == "line 53: <P_15> is not a valid amount: '12,50'"  # logs stay English


@pytest.mark.parametrize(
    ("data", "polish"),
    [
        (b"<Faktura><Fa/></Faktura>", "to nie jest faktura FA(3) ani FA(2)"),
        (b"<a><b></a>", "znacznik zamykający </a> nie pasuje do otwartego <b>"),
        (b"", "niepoprawny XML: dokument jest pusty"),
        (b"<a>&undefined;</a>", "encja &undefined; nie jest zdefiniowana"),
    ],
)
def test_parse_errors_read_polish_in_polish_mode(monkeypatch: pytest.MonkeyPatch, data: bytes, polish: str) -> None:
    monkeypatch.setenv("KSEF_TUI_LANG", "pl")
    with pytest.raises(InvoiceParseError) as err:
        parse_invoice(data)
    assert polish in err.value.message()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_documents_raise_only_invoice_parse_error(data: st.DataObject) -> None:
    """Truncated or byte-flipped samples either parse or raise InvoiceParseError, nothing else."""
    name = data.draw(st.sampled_from(sorted(EXPECTED)))
    raw = bytearray(read(name))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    else:
        for _ in range(data.draw(st.integers(1, 5))):
            if raw:
                raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        parse_invoice(bytes(raw))
    except InvoiceParseError as exc:
        assert "\n" not in str(exc)


def test_damaged_elements_raise_only_invoice_parse_error() -> None:
    """Removing any single element of a sample never leaks another exception type."""
    raw = read("fa3/FA3_example_2.xml")
    count = len(list(etree.fromstring(raw).iter()))
    for index in range(1, count):
        root = etree.fromstring(raw)
        victim = list(root.iter())[index]
        parent = victim.getparent()
        assert parent is not None
        parent.remove(victim)
        with contextlib.suppress(InvoiceParseError):
            parse_element(root)
