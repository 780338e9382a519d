"""Deterministic seed data: the demo company, its suppliers, and purchase invoices as FA(3) XML.

The XML is built here from string templates (the simulator must not share the client's FA builder);
tests validate every generated document against the official XSD.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from ksef_tui.domain.money import q2, xml_amount
from ksef_tui.fa.validate import FA3_NS

WARSAW = ZoneInfo("Europe/Warsaw")
SEED_START = date(2026, 2, 1)


@dataclass(frozen=True)
class Company:
    nip: str
    name: str
    street: str
    city: str


DEMO = Company("5265877635", "Demo Sp. z o.o.", "ul. Prosta 1", "00-850 Warszawa")
OTHER = Company("9512345675", "Inna Firma S.A.", "ul. Krzywa 7", "30-001 Kraków")
SUPPLIERS = (
    Company("7771234567", "Hurtownia Papieru Kowalski sp.j.", "ul. Papierowa 12", "60-101 Poznań"),
    Company("6341234564", "Serwis IT Nowak sp. z o.o.", "ul. Serwerowa 3", "40-001 Katowice"),
    Company("1134567895", "Biuro Rachunkowe Wiśniewska", "ul. Księgowa 5/2", "90-001 Łódź"),
    Company("8423456786", "Transport Zieliński S.A.", "ul. Portowa 44", "80-001 Gdańsk"),
    Company("6791234564", "Catering Smaczny Kąsek", "ul. Zupy 9", "31-001 Kraków"),
)

_RATES = {"23": "1", "8": "2", "5": "3"}
_GOODS = (
    ("Papier ksero A4", "ryza", Decimal("18.50"), "23"),
    ("Usługa serwisowa", "godz.", Decimal("150.00"), "23"),
    ("Książka fachowa", "szt.", Decimal("89.00"), "5"),
    ("Usługa gastronomiczna", "usł.", Decimal("420.00"), "8"),
    ("Transport krajowy", "kurs", Decimal("760.00"), "23"),
    ("Materiały biurowe", "kpl.", Decimal("45.90"), "23"),
    ("Napoje", "szt.", Decimal("3.20"), "8"),
)


@dataclass(frozen=True)
class Line:
    name: str
    unit: str
    quantity: Decimal
    price: Decimal
    rate: str

    @property
    def net(self) -> Decimal:
        return q2(self.quantity * self.price)


@dataclass(frozen=True)
class Correction:
    number: str
    issue_date: date
    ksef_number: str


def invoice_xml(
    *,
    seller: Company,
    buyer: Company,
    number: str,
    issue_date: date,
    lines: list[Line],
    currency: str = "PLN",
    eur_rate: Decimal | None = None,
    corrects: Correction | None = None,
    created: datetime | None = None,
) -> bytes:
    """An FA(3) invoice (``VAT``, or ``KOR`` when ``corrects`` is given)."""
    nets: dict[str, Decimal] = {}
    for line in lines:
        nets[line.rate] = nets.get(line.rate, Decimal(0)) + line.net
    summary: list[str] = []
    gross = Decimal(0)
    for rate in sorted(nets, key=lambda r: _RATES[r]):
        bucket = _RATES[rate]
        net = q2(nets[rate])
        tax = q2(net * Decimal(rate) / 100)
        gross += net + tax
        summary.append(
            f"<P_13_{bucket}>{xml_amount(net)}</P_13_{bucket}><P_14_{bucket}>{xml_amount(tax)}</P_14_{bucket}>"
        )
        if currency != "PLN" and eur_rate is not None:
            summary.append(f"<P_14_{bucket}W>{xml_amount(q2(tax * eur_rate))}</P_14_{bucket}W>")
    rows = []
    for index, line in enumerate(lines, start=1):
        kurs = f"<KursWaluty>{xml_amount(eur_rate, 6)}</KursWaluty>" if eur_rate is not None else ""
        rows.append(
            "<FaWiersz>"
            f"<NrWierszaFa>{index}</NrWierszaFa><P_7>{escape(line.name)}</P_7><P_8A>{escape(line.unit)}</P_8A>"
            f"<P_8B>{xml_amount(line.quantity, 6)}</P_8B><P_9A>{xml_amount(line.price, 8)}</P_9A>"
            f"<P_11>{xml_amount(line.net)}</P_11><P_12>{line.rate}</P_12>{kurs}"
            "</FaWiersz>"
        )
    if corrects is None:
        kind = "<RodzajFaktury>VAT</RodzajFaktury>"
    else:
        kind = (
            "<RodzajFaktury>KOR</RodzajFaktury><PrzyczynaKorekty>Rabat posprzedażowy</PrzyczynaKorekty>"
            "<TypKorekty>1</TypKorekty><DaneFaKorygowanej>"
            f"<DataWystFaKorygowanej>{corrects.issue_date.isoformat()}</DataWystFaKorygowanej>"
            f"<NrFaKorygowanej>{escape(corrects.number)}</NrFaKorygowanej>"
            f"<NrKSeF>1</NrKSeF><NrKSeFFaKorygowanej>{corrects.ksef_number}</NrKSeFFaKorygowanej>"
            "</DaneFaKorygowanej>"
        )
    made = (created or datetime.combine(issue_date, time(9, 0), WARSAW)).astimezone(UTC)
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Faktura xmlns="{FA3_NS}">'
        '<Naglowek><KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza>'
        f"<WariantFormularza>3</WariantFormularza><DataWytworzeniaFa>{made:%Y-%m-%dT%H:%M:%SZ}</DataWytworzeniaFa>"
        "<SystemInfo>ksef-tui simulator</SystemInfo></Naglowek>"
        f"{_party('Podmiot1', seller, buyer=False)}{_party('Podmiot2', buyer, buyer=True)}"
        f"<Fa><KodWaluty>{currency}</KodWaluty><P_1>{issue_date.isoformat()}</P_1>"
        f"<P_1M>{escape(seller.city.split(' ', 1)[-1])}</P_1M><P_2>{escape(number)}</P_2>"
        f"<P_6>{issue_date.isoformat()}</P_6>{''.join(summary)}<P_15>{xml_amount(q2(gross))}</P_15>"
        "<Adnotacje><P_16>2</P_16><P_17>2</P_17><P_18>2</P_18><P_18A>2</P_18A>"
        "<Zwolnienie><P_19N>1</P_19N></Zwolnienie><NoweSrodkiTransportu><P_22N>1</P_22N></NoweSrodkiTransportu>"
        "<P_23>2</P_23><PMarzy><P_PMarzyN>1</P_PMarzyN></PMarzy></Adnotacje>"
        f"{kind}{''.join(rows)}</Fa></Faktura>"
    )
    return doc.encode("utf-8")


def _party(tag: str, company: Company, *, buyer: bool) -> str:
    extra = "<JST>2</JST><GV>2</GV>" if buyer else ""
    return (
        f"<{tag}><DaneIdentyfikacyjne><NIP>{company.nip}</NIP><Nazwa>{escape(company.name)}</Nazwa></DaneIdentyfikacyjne>"
        f"<Adres><KodKraju>PL</KodKraju><AdresL1>{escape(company.street)}</AdresL1>"
        f"<AdresL2>{escape(company.city)}</AdresL2></Adres>{extra}</{tag}>"
    )


@dataclass(frozen=True)
class SeedInvoice:
    xml: bytes
    seller_nip: str
    acquisition: datetime  # also the day in the KSeF number
    technical_hex: str


def purchase_invoices(
    count: int, rng: random.Random, now: datetime, make_number: Callable[[str, datetime, str], str]
) -> list[SeedInvoice]:
    """``count`` purchases of :data:`DEMO`, issued between 2026-02-01 and ``now``; every fifth is a correction
    and the third one is in EUR (``P_14_xW`` carries the tax in PLN). Already permanently stored."""
    start = datetime.combine(SEED_START, time(8, 0), WARSAW).astimezone(UTC)
    end = now - timedelta(hours=1)
    if count <= 0 or end <= start:
        return []
    span = (end - start).total_seconds()
    moments = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    out: list[SeedInvoice] = []
    originals: dict[str, list[tuple[str, date, str]]] = {}
    per_supplier: dict[str, int] = {}
    for index, moment in enumerate(moments):
        supplier = SUPPLIERS[index % len(SUPPLIERS)]
        issue = moment.astimezone(WARSAW).date()
        per_supplier[supplier.nip] = per_supplier.get(supplier.nip, 0) + 1
        number = f"FV/{per_supplier[supplier.nip]:04d}/{issue:%m/%Y}/{supplier.nip[:3]}"
        technical = f"{rng.getrandbits(48):012X}"
        ksef_number = make_number(supplier.nip, moment, technical)
        previous = originals.get(supplier.nip)
        if index % 5 == 4 and previous:
            orig_number, orig_date, orig_ksef = previous[0]
            good = rng.choice(_GOODS)
            lines = [Line(good[0], good[1], Decimal(-1), good[2], good[3])]
            xml = invoice_xml(
                seller=supplier,
                buyer=DEMO,
                number="KOR/" + number,
                issue_date=issue,
                lines=lines,
                corrects=Correction(orig_number, orig_date, orig_ksef),
            )
        else:
            lines = []
            for _ in range(rng.randint(1, 4)):
                good = rng.choice(_GOODS)
                lines.append(Line(good[0], good[1], Decimal(rng.randint(1, 20)), good[2], good[3]))
            if index == 2:
                xml = invoice_xml(
                    seller=supplier,
                    buyer=DEMO,
                    number=number,
                    issue_date=issue,
                    lines=lines,
                    currency="EUR",
                    eur_rate=Decimal("4.2718"),
                )
            else:
                xml = invoice_xml(seller=supplier, buyer=DEMO, number=number, issue_date=issue, lines=lines)
            originals.setdefault(supplier.nip, []).append((number, issue, ksef_number))
        out.append(SeedInvoice(xml, supplier.nip, moment, technical))
    return out
