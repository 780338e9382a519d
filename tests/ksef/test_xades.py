"""The signing credential and the XAdES-signed ``AuthTokenRequest`` (CERTS_OFFLINE §1), checked independently of
the signing code: signxml's verifiers for RSA, for ECDSA the raw r||s verified here with cryptography over the
canonical ``SignedInfo``, every digest recomputed with lxml, the document against the auth XSD."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree
from signxml.exceptions import InvalidDigest, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier
from signxml.xades.xades import XAdESSignatureConfiguration, XAdESVerifier

from ksef_tui.errors import Category, report
from ksef_tui.ksef.errors import (
    CredentialError,
    CredentialUnreadable,
    KeyMismatch,
    MissingCertificate,
    MissingPrivateKey,
    PasswordNeeded,
    UnsupportedKey,
    WrongPassword,
)
from ksef_tui.ksef.xades import (
    AUTH_NAMESPACE,
    CertificateIdentity,
    CertificateKind,
    SigningCredential,
    auth_token_request,
    load_credential,
    load_pem,
    load_pkcs12,
    sign_xades,
)

from .certkit import PASSWORD, certificate, der, ec_key, p12, pem, person_name, pkcs8, rsa_key, seal_name

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ds": DS, "xades": XADES, "a": AUTH_NAMESPACE}
INCLUSIVE = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
EXCLUSIVE = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
CHALLENGE = "20250604-CR-461EA5B000-537A6BA15D-D7"
SIGNED_AT = datetime(2026, 5, 15, 9, 59, tzinfo=UTC)


def credential(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, name: x509.Name | None = None) -> SigningCredential:
    return SigningCredential.create(certificate(key, name), key)


def schema() -> etree.XMLSchema:
    """The auth XSD 2.1 shipped with the app, with the anchor fix of CERTS_OFFLINE §1.1 (libxml2 reads the ``^``
    and ``$`` of the NipVatUe and PeppolId patterns literally)."""
    text = resources.files("ksef_tui.fa").joinpath("schemas/schemat_auth_v2-1.xsd").read_text("utf-8")
    text = text.replace(')))$"/>', ')))"/>').replace('value="^P[A-Z]{2}[0-9]{6}$"', 'value="P[A-Z]{2}[0-9]{6}"')
    return etree.XMLSchema(etree.fromstring(text.encode()))


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def unsigned(document: etree._Element) -> etree._Element:
    copy = etree.fromstring(etree.tostring(document))
    for signature in copy.findall("ds:Signature", NS):
        copy.remove(signature)
    return copy


# ----------------------------------------------------------------------------------- AuthTokenRequest


@pytest.mark.parametrize(
    ("context_type", "value"),
    [
        ("Nip", "5265877635"),
        ("InternalId", "6824515772-12343"),
        ("NipVatUe", "5265877635-ATU12345678"),
        ("PeppolId", "PPL123456"),
    ],
)
@pytest.mark.parametrize("subject", ["certificateSubject", "certificateFingerprint"])
def test_the_request_is_valid_against_the_auth_xsd(context_type: str, value: str, subject: str) -> None:
    xml = auth_token_request(CHALLENGE, context_type, value, subject)
    assert xml.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    document = etree.fromstring(xml)
    schema().assertValid(document)
    assert document.tag == f"{{{AUTH_NAMESPACE}}}AuthTokenRequest"
    assert [local(child) for child in document] == [
        "Challenge",
        "ContextIdentifier",
        "SubjectIdentifierType",
    ]
    assert document.findtext(f"a:ContextIdentifier/a:{context_type}", namespaces=NS) == value


def test_unknown_context_or_subject_types_are_refused_before_signing() -> None:
    with pytest.raises(ValueError, match="context type"):
        auth_token_request(CHALLENGE, "Pesel", "12345678901")
    with pytest.raises(ValueError, match="subject identifier type"):
        auth_token_request(CHALLENGE, "Nip", "5265877635", "certificateSerial")
    # values are escaped, never XML of their own
    assert b"&lt;x&gt;" in auth_token_request("<x>", "Nip", "5265877635")


# -------------------------------------------------------------------------------------------- signing


def signed_document(cred: SigningCredential) -> tuple[bytes, etree._Element]:
    signed = sign_xades(auth_token_request(CHALLENGE, "Nip", "5265877635"), cred, SIGNED_AT)
    return signed, etree.fromstring(signed)


@pytest.mark.parametrize("kind", ["rsa", "ec256", "ec384"])
def test_the_layout_is_mf_reference_signers(kind: str) -> None:
    key = rsa_key() if kind == "rsa" else ec_key(ec.SECP256R1() if kind == "ec256" else ec.SECP384R1())
    cred = credential(key)
    _, document = signed_document(cred)
    signature = document[-1]
    assert signature.tag == f"{{{DS}}}Signature" and signature.get("Id") == "Signature"
    assert len(document.findall(".//ds:Signature", NS)) == 1
    assert [local(child) for child in signature] == ["SignedInfo", "SignatureValue", "KeyInfo", "Object"]
    info = signature.find("ds:SignedInfo", NS)
    assert info is not None
    assert info.find("ds:CanonicalizationMethod", NS).get("Algorithm") == INCLUSIVE  # type: ignore[union-attr]
    method = info.find("ds:SignatureMethod", NS).get("Algorithm")  # type: ignore[union-attr]
    expected = "rsa-sha256" if kind == "rsa" else "ecdsa-sha256"
    assert method == f"http://www.w3.org/2001/04/xmldsig-more#{expected}"
    whole, properties = info.findall("ds:Reference", NS)
    assert whole.get("URI") == "" and whole.get("Type") is None
    assert [t.get("Algorithm") for t in whole.findall("ds:Transforms/ds:Transform", NS)] == [ENVELOPED, EXCLUSIVE]
    assert properties.get("URI") == "#SignedProperties"
    assert properties.get("Type") == "http://uri.etsi.org/01903#SignedProperties"
    assert [t.get("Algorithm") for t in properties.findall("ds:Transforms/ds:Transform", NS)] == [EXCLUSIVE]
    for reference in (whole, properties):
        assert reference.find("ds:DigestMethod", NS).get("Algorithm") == SHA256  # type: ignore[union-attr]
    # KeyInfo: the signing certificate only, no KeyValue
    key_info = signature.find("ds:KeyInfo", NS)
    assert key_info is not None and [local(c) for c in key_info] == ["X509Data"]
    certs = key_info.findall("ds:X509Data/ds:X509Certificate", NS)
    assert [base64.b64decode(c.text or "") for c in certs] == [der(cred.certificate)]
    # XAdES: QualifyingProperties -> SignedProperties -> SigningTime + SigningCertificate (v1, with IssuerSerial)
    qualifying = signature.find("ds:Object/xades:QualifyingProperties", NS)
    assert qualifying is not None and qualifying.get("Target") == "#Signature"
    signed_properties = qualifying.find("xades:SignedProperties", NS)
    assert signed_properties is not None and signed_properties.get("Id") == "SignedProperties"
    ssp = signed_properties.find("xades:SignedSignatureProperties", NS)
    assert ssp is not None
    assert [local(c) for c in ssp] == ["SigningTime", "SigningCertificate"]
    assert ssp.findtext("xades:SigningTime", namespaces=NS) == "2026-05-15T09:59:00Z"
    cert_node = ssp.find("xades:SigningCertificate/xades:Cert", NS)
    assert cert_node is not None
    assert cert_node.find("xades:CertDigest/ds:DigestMethod", NS).get("Algorithm") == SHA256  # type: ignore[union-attr]
    digest = cert_node.findtext("xades:CertDigest/ds:DigestValue", namespaces=NS)
    assert base64.b64decode(digest or "") == hashlib.sha256(der(cred.certificate)).digest()
    assert cert_node.findtext("xades:IssuerSerial/ds:X509SerialNumber", namespaces=NS) == str(
        cred.certificate.serial_number
    )
    assert "CN=Jan Kowalski" in (cert_node.findtext("xades:IssuerSerial/ds:X509IssuerName", namespaces=NS) or "")
    # the document without its signature is the request as built, and valid
    schema().assertValid(unsigned(document))


def test_an_rsa_signature_verifies_with_signxml() -> None:
    cred = credential(rsa_key())
    signed, _ = signed_document(cred)
    results = XAdESVerifier().verify(
        signed, x509_cert=cred.certificate, expect_config=XAdESSignatureConfiguration(expect_references=2)
    )
    assert len(results) == 2
    plain = XMLVerifier().verify(
        signed, x509_cert=cred.certificate, expect_config=SignatureConfiguration(expect_references=2)
    )
    assert isinstance(plain, list)
    assert etree.fromstring(plain[0].signed_data).findtext("a:Challenge", namespaces=NS) == CHALLENGE


def test_a_changed_document_or_signing_time_fails_verification() -> None:
    cred = credential(rsa_key())
    signed, _ = signed_document(cred)
    config = XAdESSignatureConfiguration(expect_references=2)
    tampered = signed.replace(b"<Nip>5265877635</Nip>", b"<Nip>7811111111</Nip>")
    with pytest.raises(InvalidDigest):
        XAdESVerifier().verify(tampered, x509_cert=cred.certificate, expect_config=config)
    later = signed.replace(b"2026-05-15T09:59:00Z", b"2026-05-15T09:58:00Z")
    with pytest.raises(InvalidDigest):
        XAdESVerifier().verify(later, x509_cert=cred.certificate, expect_config=config)
    other = credential(rsa_key(3072))
    with pytest.raises(InvalidSignature):
        XMLVerifier().verify(
            signed, x509_cert=other.certificate, expect_config=SignatureConfiguration(expect_references=2)
        )


def _c14n(element: etree._Element, algorithm: str | None) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=algorithm == EXCLUSIVE)


@pytest.mark.parametrize(("curve", "size"), [(ec.SECP256R1(), 32), (ec.SECP384R1(), 48)])
def test_an_ecdsa_signature_is_raw_r_s_over_the_canonical_signed_info(curve: ec.EllipticCurve, size: int) -> None:
    key = ec_key(curve)
    cred = credential(key)
    _, document = signed_document(cred)
    signature = document.find("ds:Signature", NS)
    assert signature is not None
    info = signature.find("ds:SignedInfo", NS)
    assert info is not None
    # every reference's digest, recomputed with lxml alone
    for reference in info.findall("ds:Reference", NS):
        transforms = [t.get("Algorithm") for t in reference.findall("ds:Transforms/ds:Transform", NS)]
        if reference.get("URI") == "":
            target = unsigned(document)
            assert ENVELOPED in transforms
        else:
            found = document.xpath("//*[@Id=$id]", id=reference.get("URI", "")[1:])
            assert isinstance(found, list) and len(found) == 1
            target = found[0]
        expected = base64.b64decode(reference.findtext("ds:DigestValue", namespaces=NS) or "")
        assert hashlib.sha256(_c14n(target, transforms[-1])).digest() == expected
    # SignatureValue: r||s of fixed length (not DER), over SignedInfo in inclusive C14N
    raw = base64.b64decode(signature.findtext("ds:SignatureValue", namespaces=NS) or "")
    assert len(raw) == 2 * size  # DER would be 2 * size + 6..9 bytes, starting with 0x30
    r, s = int.from_bytes(raw[:size], "big"), int.from_bytes(raw[size:], "big")
    key.public_key().verify(encode_dss_signature(r, s), _c14n(info, INCLUSIVE), ec.ECDSA(hashes.SHA256()))
    # the bytes as sent: an inclusive canonical form taken in the context of the whole document
    assert b'xmlns="http://ksef.mf.gov.pl/auth/token/2.1"' in _c14n(info, INCLUSIVE)


# ------------------------------------------------------------------------------------ loading credentials


def test_pkcs12_with_its_password() -> None:
    key = rsa_key()
    cert = certificate(key)
    issuer = certificate(ec_key(), seal_name())
    loaded = load_pkcs12(p12(key, cert, chain=[issuer]), PASSWORD)
    assert loaded.certificate == cert and loaded.chain == (issuer,)
    assert loaded.key_description == "RSA-2048"
    assert load_credential(p12(key, cert), PASSWORD.encode()).fingerprint == loaded.fingerprint
    assert load_pkcs12(p12(key, cert, password=None)).certificate == cert


@pytest.mark.parametrize(
    ("password", "error"), [("wrong", WrongPassword), (None, PasswordNeeded), ("", PasswordNeeded)]
)
def test_pkcs12_with_a_wrong_or_missing_password(password: str | None, error: type[CredentialError]) -> None:
    key = ec_key()
    with pytest.raises(error) as caught:
        load_pkcs12(p12(key, certificate(key)), password)
    assert caught.value.category is Category.CONFIG
    assert PASSWORD not in str(caught.value) and PASSWORD not in repr(caught.value)


def test_certificate_and_encrypted_pkcs8_key_as_the_ksef_app_gives_them() -> None:
    key = ec_key()
    cert = certificate(key)
    loaded = load_pem(pem(cert), pkcs8(key), PASSWORD)
    assert loaded.certificate == cert
    assert load_credential(der(cert), PASSWORD, key=pkcs8(key)).certificate == cert  # a DER .crt
    assert load_pem(pem(cert), pkcs8(key, None)).certificate == cert  # a plain key
    assert load_pem(pem(cert), pkcs8(key, None), PASSWORD).certificate == cert  # a password for a plain key
    assert load_pem(pem(cert), pkcs8(key, None, encoding="der")).certificate == cert
    # one PEM file with both
    assert load_credential(pem(cert) + pkcs8(key), PASSWORD).certificate == cert
    with pytest.raises(WrongPassword):
        load_pem(pem(cert), pkcs8(key), "Zazolc-gesla-jazn 42")
    with pytest.raises(PasswordNeeded):
        load_pem(pem(cert), pkcs8(key))


def test_a_chain_in_the_certificate_file_is_kept_and_the_leaf_found_by_the_key() -> None:
    ca_key = ec_key()
    ca_name = seal_name("7811111111", "Testowe CA")
    ca = certificate(ca_key, ca_name)
    key = ec_key()
    leaf = certificate(key, person_name(), issuer=(ca_name, ca_key))
    loaded = load_pem(pem(ca) + pem(leaf), pkcs8(key), PASSWORD)
    assert loaded.certificate == leaf and loaded.chain == (ca,)
    assert loaded.issuer.startswith("C=PL,CN=Testowe CA")


def test_a_key_of_another_certificate_is_refused() -> None:
    key = ec_key()
    other = ec_key()
    with pytest.raises(KeyMismatch):
        load_pem(pem(certificate(key)), pkcs8(other), PASSWORD)
    with pytest.raises(KeyMismatch):
        SigningCredential.create(certificate(key), other)


@pytest.mark.parametrize(
    ("make_key", "described"),
    [
        (lambda: rsa_key(1024), "RSA-1024"),
        (lambda: ec_key(ec.SECP521R1()), "EC secp521r1"),
        (lambda: ec_key(ec.SECP256K1()), "EC secp256k1"),
    ],
)
def test_keys_ksef_would_refuse(make_key: object, described: str) -> None:
    key = make_key()  # type: ignore[operator]
    with pytest.raises(UnsupportedKey) as caught:
        load_pem(pem(certificate(key)), pkcs8(key), PASSWORD)
    assert caught.value.what == described
    assert described in report(caught.value).message
    assert report(caught.value).exit_code == 4  # CONFIG


def test_an_ed25519_key_is_named_in_the_refusal() -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    with pytest.raises(UnsupportedKey) as caught:
        SigningCredential.create(certificate(ec_key()), ed25519.Ed25519PrivateKey.generate())
    assert caught.value.what == "Ed25519"


def test_files_that_are_not_a_credential() -> None:
    key = ec_key()
    cert = certificate(key)
    with pytest.raises(CredentialUnreadable):
        load_credential(b"not a certificate at all")
    with pytest.raises(CredentialUnreadable):
        load_credential(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(MissingPrivateKey):
        load_credential(pem(cert))
    with pytest.raises(MissingPrivateKey):
        load_credential(der(cert))
    with pytest.raises(MissingCertificate):
        load_pem(pkcs8(key), pkcs8(key), PASSWORD)
    with pytest.raises(MissingPrivateKey):
        load_pkcs12(p12(None, cert), PASSWORD)


def test_errors_read_in_both_languages_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    key = ec_key()
    with pytest.raises(WrongPassword) as caught:
        load_pem(pem(certificate(key)), pkcs8(key), "other")
    error = caught.value
    for lang in ("pl", "en"):
        monkeypatch.setenv("KSEF_TUI_LANG", lang)
        shown = report(error)
        assert shown.message and shown.hint and shown.exit_code == 4
        assert PASSWORD not in shown.message + shown.hint
    assert "BEGIN" not in str(error) and PASSWORD not in repr(error)


# --------------------------------------------------------------------------------------------- facts


def test_identity_and_kind_as_ksef_reads_them() -> None:
    key = ec_key()
    person_nip = credential(key, person_name("TINPL-5265877635"))
    assert person_nip.kind is CertificateKind.PERSON
    assert person_nip.identity == CertificateIdentity("Nip", "5265877635")
    assert str(person_nip.identity) == "Nip:5265877635"
    person_pesel = credential(key, person_name("PNOPL-90010112345"))
    assert person_pesel.identity == CertificateIdentity("Pesel", "90010112345")
    assert credential(key, person_name("PESEL:90010112345")).identity == CertificateIdentity("Pesel", "90010112345")
    seal = credential(key, seal_name("7811111111"))
    assert seal.kind is CertificateKind.SEAL
    assert seal.identity == CertificateIdentity("Nip", "7811111111")
    unknown = credential(key, x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "Jan z Bruksel")]))
    assert unknown.kind is CertificateKind.OTHER and unknown.identity is None
    # an identifier KSeF cannot read (MF tests: "-<pesel>", "TINPL-111111")
    assert credential(key, person_name("TINPL-111111")).identity is None


def test_fingerprint_validity_serial_and_pkcs12_round_trip() -> None:
    key = rsa_key()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cred = SigningCredential.create(certificate(key, not_before=start, days=30), key)
    assert re.fullmatch(r"[0-9A-F]{64}", cred.fingerprint)
    assert cred.fingerprint == hashlib.sha256(der(cred.certificate)).hexdigest().upper()
    assert cred.not_before == start and cred.not_after == start + timedelta(days=30)
    assert cred.valid_at(start + timedelta(days=1)) and not cred.valid_at(start + timedelta(days=31))
    assert int(cred.serial, 16) == cred.certificate.serial_number and cred.serial == cred.serial.upper()
    assert cred.subject == "C=PL,CN=Jan Kowalski,SERIALNUMBER=TINPL-5265877635,SN=Kowalski,G=Jan"
    again = load_pkcs12(cred.to_pkcs12("vault password"), "vault password")
    assert again.fingerprint == cred.fingerprint
    assert "private_key" not in repr(cred)
