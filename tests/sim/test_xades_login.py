"""POST /auth/xades-signature and the status, redeem and refresh that follow it (CERTS_OFFLINE §1, §2, §7 items
1–7), over real HTTP, every exchange checked against the OpenAPI. Documents are signed by the test-side signer
(``xades_signer``), and once by signxml, an implementation the simulator's verifier shares nothing with."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from ksef_tui.sim import xades
from ksef_tui.sim.seed import DEMO, OTHER

from ..harness import FIXED_NOW
from .sim_support import Api, legacy_error, problem_error
from .xades_flow import Holder, claims, login, nip, per, pesel, post_signed, signed_request, start, status
from .xades_signer import (
    AUTH_2_0,
    C14N,
    EXC_C14N,
    RSA_PSS_SHA256,
    RSA_SHA1,
    SHA1,
    certificate,
    ec_key,
    fingerprint,
    person_name,
    rsa_key,
    seal_name,
)

Factory = Callable[..., Api]


def seal(nip_value: str, *, slot: int = 0, **options: Any) -> Holder:
    return Holder.make(rsa_key(slot), seal_name(nip_value), now=FIXED_NOW, **options)


def person(serial: str, *, slot: int = 1, **options: Any) -> Holder:
    return Holder.make(rsa_key(slot), person_name(serial), now=FIXED_NOW, **options)


@pytest.fixture
def te(make_client: Factory) -> Api:
    """A TE simulator: self-signed certificates log in (CERTS_OFFLINE §2)."""
    return make_client(environment="TE")


# ------------------------------------------------------------------ success
def test_rsa_seal_owner_logs_in_and_works(te: Api) -> None:
    holder = seal(DEMO.nip)
    final = status(te, holder, DEMO.nip)
    assert final["status"] == {"code": 200, "description": "Uwierzytelnianie zakończone sukcesem"}
    assert final["authenticationMethod"] == "QualifiedSeal"
    assert final["authenticationMethodInfo"] == {
        "category": "XadesSignature",
        "code": "xades.qualified-seal",
        "displayName": "Pieczęć kwalifikowana",
    }
    tokens = login(te, holder, DEMO.nip)
    access = claims(tokens["access"])
    assert (access["typ"], access["cit"], access["civ"], access["aum"]) == (
        "ContextToken",
        "Nip",
        DEMO.nip,
        "QualifiedSeal",
    )
    assert per(tokens["access"])[0] == "Owner"
    assert {"InvoiceRead", "InvoiceWrite", "CredentialsManage"} <= set(per(tokens["access"]))
    # the access token works where InvoiceRead is required
    query = {"subjectType": "Subject2", "dateRange": {"dateType": "Invoicing", "from": "2026-04-01T00:00:00+00:00"}}
    found = te.call("POST", "/invoices/query/metadata", token=tokens["access"], json_body=query)
    assert found.status_code == 200, found.text
    refreshed = te.call("POST", "/auth/token/refresh", token=tokens["refresh"])
    assert refreshed.status_code == 200
    assert "Owner" in per(refreshed.json()["accessToken"]["token"])


def test_rsa_person_with_nip_and_ec_seal_log_in(te: Api) -> None:
    by_nip = person(f"TINPL-{OTHER.nip}")
    final = status(te, by_nip, OTHER.nip)
    assert final["status"]["code"] == 200
    assert final["authenticationMethod"] == "QualifiedSignature"
    assert final["authenticationMethodInfo"]["code"] == "xades.qualified-signature"
    tokens = login(te, by_nip, OTHER.nip)
    assert claims(tokens["access"])["sud"] == f'{{"Nip": "{OTHER.nip}"}}'
    ec_holder = Holder.make(ec_key(), seal_name(DEMO.nip), now=FIXED_NOW)
    assert status(te, ec_holder, DEMO.nip)["status"]["code"] == 200
    # "NIP-" in the serial number is read as a NIP too (§1.4)
    assert status(te, person(f"NIP-{DEMO.nip}"), DEMO.nip)["status"]["code"] == 200


@pytest.mark.parametrize(
    "options",
    [
        {"method": RSA_PSS_SHA256},
        {"signed_info_c14n": EXC_C14N, "reference_c14n": C14N},
        {"namespace": AUTH_2_0},
        {"method": RSA_SHA1, "digest": SHA1},  # TE accepts SHA-1
        {"packaging": "xpath-filter2"},
        {"packaging": "enveloping"},
        {"packaging": "enveloping", "reference_c14n": C14N},
    ],
    ids=[
        "rsa-pss",
        "exclusive-signedinfo",
        "namespace-2.0",
        "sha1-on-te",
        "xpath-filter2",
        "enveloping",
        "enveloping-c14n",
    ],
)
def test_accepted_variants(te: Api, options: dict[str, Any]) -> None:
    response = start(te, seal(DEMO.nip), DEMO.nip, **options)
    assert response.status_code == 202, response.text


def test_signature_made_by_signxml_is_accepted(te: Api) -> None:
    """An independent XAdES implementation (signxml: SigningCertificateV2, C14N 1.1, KeyInfo reference)."""
    signxml = pytest.importorskip("signxml.xades")
    holder = seal(DEMO.nip)
    unsigned = etree.fromstring(signed_request(te, holder, DEMO.nip)).getroottree()
    root = unsigned.getroot()
    signature = root.find(f"{{{xades.DS}}}Signature")
    assert signature is not None
    root.remove(signature)
    signed = signxml.XAdESSigner().sign(root, key=holder.key, cert=[holder.cert])
    response = post_signed(te, etree.tostring(signed))
    assert response.status_code == 202, response.text


def test_nip_vat_ue_and_peppol_contexts_pass_the_fixed_schema(te: Api) -> None:
    """The anchors of the 2.1 XSD are stripped (§1.1): as published, libxml2 refuses every real value."""
    holder = seal(DEMO.nip)
    raw = etree.XMLSchema(etree.parse(str(resources.files("ksef_tui.fa") / "schemas" / "schemat_auth_v2-1.xsd")))
    document = signed_request(
        te, holder, "5265877635-ATU12345678", context_type="NipVatUe", subject_type="certificateFingerprint"
    )
    assert not raw.validate(etree.fromstring(document).getroottree())
    response = post_signed(te, document)
    assert response.status_code == 202, response.text
    peppol = start(te, holder, "PPL123456", context_type="PeppolId")
    assert peppol.status_code == 202, peppol.text


# ------------------------------------------------------------------ synchronous refusals
def test_wrong_content_type_is_415(te: Api) -> None:
    body = signed_request(te, seal(DEMO.nip), DEMO.nip)
    response = te.call(
        "POST", "/auth/xades-signature", content=body, headers={"Content-Type": "text/plain"}, validate=False
    )
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("application/problem+json")


def test_unreadable_badly_encoded_and_invalid_documents(te: Api) -> None:
    garbage = post_signed(te, b"<AuthTokenRequest><unclosed>")
    assert legacy_error(garbage)[0] == 21001
    latin = signed_request(te, seal(DEMO.nip), DEMO.nip).replace(b"utf-8", b"iso-8859-2")
    assert legacy_error(post_signed(te, latin))[:2] == (21217, "Nieprawidłowe kodowanie znaków.")
    not_utf8 = post_signed(te, "<a>zażółć</a>".encode("iso-8859-2"), bad_request=True)
    assert legacy_error(not_utf8)[0] == 21217
    bad_nip = signed_request(te, seal(DEMO.nip), "0123456789")
    code, description, details = problem_error(post_signed(te, bad_nip, headers={"X-Error-Format": "problem-details"}))
    assert (code, description) == (21401, "Dokument nie jest zgodny ze schemą (xsd).")
    assert "Nip" in details[0] and "pattern" in details[0]


def test_signature_count(te: Api) -> None:
    from .xades_signer import auth_request

    challenge = te.call("POST", "/auth/challenge").json()["challenge"]
    unsigned = post_signed(te, auth_request(challenge, DEMO.nip))
    assert legacy_error(unsigned)[:2] == (9102, "Brak podpisu.")
    signed = signed_request(te, seal(DEMO.nip), DEMO.nip)
    signature = signed[signed.index(b"<ds:Signature") : signed.index(b"</AuthTokenRequest>")]
    twice = signed.replace(b"</AuthTokenRequest>", signature + b"</AuthTokenRequest>")
    assert legacy_error(post_signed(te, twice))[:2] == (9103, "Przekroczona liczba dozwolonych podpisów.")


def _swap_signature_value(body: bytes) -> bytes:
    start_tag = body.index(b"<ds:SignatureValue>") + len(b"<ds:SignatureValue>")
    value = body[start_tag : body.index(b"</ds:SignatureValue>")]
    flipped = (b"B" if value[:1] != b"B" else b"C") + value[1:]
    return body.replace(value, flipped)


def test_bad_signatures_are_9105_with_ksef_details(te: Api) -> None:
    holder = seal(DEMO.nip)
    signed = signed_request(te, holder, DEMO.nip)
    tampered = signed.replace(f"<Nip>{DEMO.nip}</Nip>".encode(), f"<Nip>{OTHER.nip}</Nip>".encode())
    assert legacy_error(post_signed(te, tampered)) == (
        9105,
        "Nieprawidłowy podpis.",
        ["Nieprawidłowa wartość skrótu dla referencji wskazującej na element ''."],
    )
    assert legacy_error(post_signed(te, _swap_signature_value(signed)))[2] == ["Podpis zweryfikowany negatywnie."]
    enveloping = signed_request(te, holder, DEMO.nip, packaging="enveloping")
    inside = enveloping.replace(f"<Nip>{DEMO.nip}</Nip>".encode(), f"<Nip>{OTHER.nip}</Nip>".encode())
    assert legacy_error(post_signed(te, inside))[2] == [
        "Nieprawidłowa wartość skrótu dla referencji wskazującej na element '#Document'."
    ]
    ec_holder = Holder.make(ec_key(), seal_name(DEMO.nip), now=FIXED_NOW)
    der = signed_request(te, ec_holder, DEMO.nip, ecdsa_der=True)
    assert legacy_error(post_signed(te, der))[2] == ["Podpis zweryfikowany negatywnie."]
    stranger = certificate(rsa_key(2), seal_name(DEMO.nip), now=FIXED_NOW)
    other_cert = signed_request(te, holder, DEMO.nip, signing_cert=stranger)
    assert legacy_error(post_signed(te, other_cert))[2] == ["Podpis zweryfikowany negatywnie."]
    dangling = signed.replace(b'URI="#SignedProperties"', b'URI="#Nowhere"')
    assert legacy_error(post_signed(te, dangling))[2] == [
        "Element wskazywany przez referencję '#Nowhere' nie został odnaleziony."
    ]
    small = Holder.make(rsa_key(9, 1024), seal_name(DEMO.nip), now=FIXED_NOW)
    assert legacy_error(start(te, small, DEMO.nip))[2] == [
        "Podpis złożony z użyciem niewspieranego algorytmu kryptograficznego."
    ]
    weak_curve = Holder.make(ec_key(ec.SECP192R1()), seal_name(DEMO.nip), now=FIXED_NOW)
    assert legacy_error(start(te, weak_curve, DEMO.nip))[0] == 9105


def test_plain_xmldsig_is_refused_or_warned_per_profile(make_client: Factory) -> None:
    strict = make_client(environment="TE")
    holder = seal(DEMO.nip)
    plain = start(strict, holder, DEMO.nip, xades=False)
    assert legacy_error(plain)[2] == ["Format podpisu niezgodny z akceptowanymi profilami XAdES."]
    lenient = make_client(environment="TE", xades_profile="warn")
    warned = start(lenient, holder, DEMO.nip, xades=False)
    assert warned.status_code == 202, warned.text
    assert warned.headers["X-System-Warning"] == "[sig-001]: Format podpisu niezgodny z akceptowanymi profilami XAdES."
    body = signed_request(lenient, holder, DEMO.nip, xades=False)
    opted_in = post_signed(lenient, body, headers={"X-KSeF-Feature": "enforce-xades-compliance"})
    assert legacy_error(opted_in)[0] == 9105


def test_sha1_is_refused_on_prd(make_client: Factory) -> None:
    prd = make_client()
    response = start(prd, seal(DEMO.nip), DEMO.nip, method=RSA_SHA1, digest=SHA1)
    assert legacy_error(response)[2] == ["Podpis złożony z użyciem niewspieranego algorytmu kryptograficznego."]


def test_challenge_must_be_known_unused_and_fresh(te: Api) -> None:
    holder = seal(DEMO.nip)
    challenge = te.call("POST", "/auth/challenge").json()["challenge"]
    assert start(te, holder, DEMO.nip, challenge=challenge).status_code == 202
    reused = start(te, holder, DEMO.nip, challenge=challenge)
    assert legacy_error(reused)[:2] == (21111, "Nieprawidłowe wyzwanie autoryzacyjne.")
    unknown = start(te, holder, DEMO.nip, challenge="20260515-CR-0000000000-0000000000-00")
    assert legacy_error(unknown)[0] == 21111
    stale = te.call("POST", "/auth/challenge").json()["challenge"]
    te.sim.advance(601)
    assert legacy_error(start(te, holder, DEMO.nip, challenge=stale))[0] == 21111


def test_certificate_without_identity_is_21115(te: Api) -> None:
    for serial in (f"-{pesel(1)}", "TINPL-111111", "TINPL-1234567890"):  # no prefix, too short, bad checksum
        response = start(te, person(serial), DEMO.nip)
        assert legacy_error(response)[:2] == (21115, "Nieprawidłowy certyfikat."), serial


def test_subject_identifier_must_fit_the_context_type(te: Api) -> None:
    response = start(te, seal(DEMO.nip), "5265877635-ATU12345678", context_type="NipVatUe")
    assert legacy_error(response)[:2] == (21117, "Nieprawidłowy identyfikator podmiotu dla wskazanego typu kontekstu.")


def test_prd_accepts_only_trusted_issuers(make_client: Factory) -> None:
    ca_key = rsa_key(3)
    ca = certificate(ca_key, seal_name(nip(90), "Kwalifikowany Dostawca"), now=FIXED_NOW, ca=True)
    prd = make_client(trusted_issuers=[ca])
    self_signed = start(prd, seal(DEMO.nip), DEMO.nip)
    assert legacy_error(self_signed)[0] == 21115
    qualified = Holder(rsa_key(0), certificate(rsa_key(0), seal_name(DEMO.nip), now=FIXED_NOW, issuer=(ca_key, ca)))
    assert status(prd, qualified, DEMO.nip)["status"]["code"] == 200


# ------------------------------------------------------------------ asynchronous outcomes
def test_no_right_in_the_context_is_415_and_redeem_is_21301(te: Api) -> None:
    final = status(te, seal(nip(1)), DEMO.nip)
    assert final["status"] == {
        "code": 415,
        "description": "Uwierzytelnianie zakończone niepowodzeniem",
        "details": ["Brak przypisanych uprawnień"],
    }
    redeem = te.call("POST", "/auth/token/redeem", token=final["started"]["authenticationToken"]["token"])
    code, _, details = legacy_error(redeem)
    assert code == 21301 and details == ["Status uwierzytelniania (415) nie pozwala na pobranie tokenów."]


def test_certificate_outside_its_validity_is_460(te: Api) -> None:
    expired = seal(DEMO.nip, valid_days=(-30, -1))
    final = status(te, expired, DEMO.nip)
    assert final["status"] == {
        "code": 460,
        "description": "Uwierzytelnianie zakończone niepowodzeniem z powodu błędu certyfikatu",
        "details": ["Nieważny certyfikat"],
    }


def test_verify_certificate_chain_on_te(make_client: Factory) -> None:
    ca_key = rsa_key(3)
    ca = certificate(ca_key, seal_name(nip(90), "Kwalifikowany Dostawca"), now=FIXED_NOW, ca=True)
    te = make_client(environment="TE", trusted_issuers=[ca])
    untrusted = status(te, seal(DEMO.nip), DEMO.nip, params={"verifyCertificateChain": "true"})
    assert (untrusted["status"]["code"], untrusted["status"]["details"]) == (460, ["Niezaufany łańcuch certyfikatów"])
    assert status(te, seal(DEMO.nip), DEMO.nip, params={"verifyCertificateChain": "false"})["status"]["code"] == 200
    issued = Holder(rsa_key(0), certificate(rsa_key(0), seal_name(DEMO.nip), now=FIXED_NOW, issuer=(ca_key, ca)))
    chained = status(te, issued, DEMO.nip, params={"verifyCertificateChain": "true"})
    assert chained["status"]["code"] == 200


def test_ocsp_wait_keeps_the_status_at_100(make_client: Factory) -> None:
    te = make_client(environment="TE", xades_delay=30)
    response = start(te, seal(DEMO.nip), DEMO.nip)
    started = response.json()
    first = te.call("GET", f"/auth/{started['referenceNumber']}", token=started["authenticationToken"]["token"])
    assert first.json()["status"]["code"] == 100
    te.sim.advance(31)
    assert te.wait_auth(started)["status"]["code"] == 200


def test_linked_pesel_owns_and_deceased_person_is_470(te: Api) -> None:
    linked, dead = pesel(11), pesel(12)
    for value, deceased in ((linked, False), (dead, True)):
        body = {
            "nip": DEMO.nip,
            "pesel": value,
            "isBailiff": False,
            "isDeceased": deceased,
            "description": "Osoba testowa",
        }
        created = te.call("POST", "/testdata/person", json_body=body)
        assert created.status_code == 200, created.text
    tokens = login(te, person(f"PNOPL-{linked}"), DEMO.nip)
    assert per(tokens["access"])[0] == "Owner"
    assert claims(tokens["access"])["sud"] == f'{{"Pesel": "{linked}"}}'
    final = status(te, person(f"PESEL:{dead}"), DEMO.nip)
    assert (final["status"]["code"], final["status"]["details"]) == (
        470,
        ["Próba wykorzystania metod autoryzacyjnych osoby zmarłej"],
    )
    # an unlinked PESEL owns nothing
    assert status(te, person(f"PNOPL-{pesel(13)}"), DEMO.nip)["status"]["code"] == 415


def test_fingerprint_login_after_a_fingerprint_grant(te: Api) -> None:
    holder = Holder.make(ec_key(), person_name("bez identyfikatora"), now=FIXED_NOW)
    denied = status(te, holder, DEMO.nip, subject_type="certificateFingerprint")
    assert denied["status"]["code"] == 415
    grant = {
        "contextIdentifier": {"type": "Nip", "value": DEMO.nip},
        "authorizedIdentifier": {"type": "Fingerprint", "value": fingerprint(holder.cert).lower()},
        "permissions": [
            {"permissionType": "CollectiveIdentifierManage", "description": "Identyfikatory zbiorcze"},
            {"permissionType": "InvoiceRead", "description": "Odczyt faktur"},
        ],
    }
    assert te.call("POST", "/testdata/permissions", json_body=grant).status_code == 200
    tokens = login(te, holder, DEMO.nip, subject_type="certificateFingerprint")
    assert per(tokens["access"]) == ["InvoiceRead", "CollectiveIdentifierManage"]
    assert claims(tokens["access"])["sud"] == f'{{"Fingerprint": "{fingerprint(holder.cert)}"}}'


def test_allowed_ips_of_the_signed_request_apply_to_the_access_token(te: Api) -> None:
    tokens = login(te, seal(DEMO.nip), DEMO.nip, allowed_ips=[("Ip4Address", "10.1.2.3")])
    response = te.call("GET", "/auth/sessions", token=tokens["access"])
    assert response.status_code == 403
    assert response.json()["reasonCode"] == "ip-not-allowed"
    open_tokens = login(te, seal(DEMO.nip), DEMO.nip, allowed_ips=[])  # empty AllowedIps: no restriction
    assert te.call("GET", "/auth/sessions", token=open_tokens["access"]).status_code == 200


def test_a_blocked_context_ends_every_login_in_480(te: Api) -> None:
    context = {"contextIdentifier": {"type": "Nip", "value": DEMO.nip}}
    assert te.call("POST", "/testdata/context/block", json_body=context).status_code == 200
    final = status(te, seal(DEMO.nip), DEMO.nip)
    assert final["status"]["code"] == 480
    assert final["status"]["description"] == "Uwierzytelnienie zablokowane"
    token = te.wait_auth(te.start_auth(te.state.named_tokens["full"]))
    assert token["status"]["code"] == 480
    assert te.call("POST", "/testdata/context/unblock", json_body=context).status_code == 200
    assert status(te, seal(DEMO.nip), DEMO.nip)["status"]["code"] == 200
