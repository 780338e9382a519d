"""KOD II (CERTS_OFFLINE.md §5.3): the link's shape, the signed text, the signature checked independently with
``cryptography`` (not through ``kod2``'s own code), the refusals, and the verifier helper."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import NameOID

from ksef_tui import i18n
from ksef_tui.errors import Category, UserError
from ksef_tui.fa.kod2 import (
    CERTIFICATE_LABEL,
    Kod2Error,
    kod2_signed_data,
    kod2_svg,
    kod2_url,
    kod2_url_for_hash,
    parse_kod2,
    sign_kod2,
    verify_kod2,
)
from ksef_tui.fa.qr import QrError, invoice_hash_b64, invoice_hash_b64url, kod1_url, make_qr, qr_modules

DOCS_SIGNED = (
    "qr-test.ksef.mf.gov.pl/certificate/Nip/1111111111/1111111111/01F20A5D352AE590/"
    "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
)
DOCS_HASH = "UtQp9Gpc51y-u3xApZjIjgkpZ01js-J8KflSPW8WzIE"
SERIAL = "01F20A5D352AE590"
XML = '<?xml version="1.0" encoding="UTF-8"?>\n<Faktura>zażółć</Faktura>\n'.encode()
NIP = "5265877635"


def _certificate(
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, serial: int = int(SERIAL, 16)
) -> x509.Certificate:
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Offline test"), x509.NameAttribute(NameOID.COUNTRY_NAME, "PL")]
    )
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _by_hand(url: str) -> tuple[bytes, bytes]:
    """The signed bytes and the raw signature, taken from the link by hand (§5.3), not by ``parse_kod2``."""
    assert url.startswith("https://")
    without_scheme = url[len("https://") :]
    signed, signature = without_scheme.rsplit("/", 1)
    assert not signed.endswith("/")
    return signed.encode("utf-8"), _b64url_decode(signature)


# ------------------------------------------------------------------------------------------------- the shape


def test_the_documents_signed_text_from_its_parts() -> None:
    parts = {
        "context_type": "Nip",
        "context_value": "1111111111",
        "seller_nip": "1111111111",
        "cert_serial": SERIAL,
    }
    assert kod2_signed_data("test", **parts, invoice_hash=DOCS_HASH) == DOCS_SIGNED
    # KSeF's invoiceHash (standard Base64, with padding) gives the same text; so does a lower-case serial
    standard = base64.b64encode(_b64url_decode(DOCS_HASH)).decode()
    assert "=" in standard
    assert kod2_signed_data("test", **parts, invoice_hash=standard) == DOCS_SIGNED
    assert kod2_signed_data("test", **{**parts, "cert_serial": SERIAL.lower()}, invoice_hash=DOCS_HASH) == DOCS_SIGNED


@pytest.mark.parametrize(("env", "host"), [("test", "qr-test"), ("demo", "qr-demo"), ("prod", "qr")])
def test_each_environment_and_the_link_next_to_kod1(env: str, host: str, ec_key: ec.EllipticCurvePrivateKey) -> None:
    url = kod2_url(
        env,
        context_type="Nip",
        context_value=NIP,
        seller_nip=NIP,
        xml=XML,
        certificate=_certificate(ec_key),
        private_key=ec_key,
    )
    pattern = rf"https://{host}\.ksef\.mf\.gov\.pl/certificate/Nip/{NIP}/{NIP}/{SERIAL}/[A-Za-z0-9_-]{{43}}/[A-Za-z0-9_-]{{86}}"
    assert re.fullmatch(pattern, url)
    # the same hash as KOD I's, over the exact bytes
    assert url.split("/")[-2] == kod1_url(env, NIP, datetime(2026, 2, 1).date(), XML).rsplit("/", 1)[1]
    assert url.split("/")[-2] == invoice_hash_b64url(XML)


@pytest.mark.parametrize(
    ("context_type", "context_value"),
    [
        ("Nip", "1111111111"),
        ("InternalId", "1111111111-00001"),
        ("NipVatUe", "5265877635-ATU12345678"),
        ("PeppolId", "PPL123456"),
    ],
)
def test_every_context_type(context_type: str, context_value: str, ec_key: ec.EllipticCurvePrivateKey) -> None:
    url = kod2_url(
        "test",
        context_type=context_type,
        context_value=context_value,
        seller_nip=NIP,  # the seller may differ from the login context
        xml=XML,
        certificate=_certificate(ec_key),
        private_key=ec_key,
        kind="Offline",
    )
    assert f"/certificate/{context_type}/{context_value}/{NIP}/{SERIAL}/" in url
    assert verify_kod2(url, ec_key.public_key())


# ------------------------------------------------------------------------------------------------- signatures


def test_rsa_signature_is_pss_sha256_salt_32(rsa_key: rsa.RSAPrivateKey) -> None:
    certificate = _certificate(rsa_key)
    url = kod2_url(
        "test",
        context_type="Nip",
        context_value=NIP,
        seller_nip=NIP,
        xml=XML,
        certificate=certificate,
        private_key=rsa_key,
        cert_serial=SERIAL,
        kind="offline",
    )
    signed, signature = _by_hand(url)
    assert signed.decode() == f"qr-test.ksef.mf.gov.pl/certificate/Nip/{NIP}/{NIP}/{SERIAL}/{invoice_hash_b64url(XML)}"
    assert len(signature) == 256 and len(url.rsplit("/", 1)[1]) == 342
    public = certificate.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    # independently: PSS, MGF1-SHA-256, a salt of exactly 32 bytes (a wrong salt length does not verify)
    public.verify(signature, signed, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        public.verify(
            signature, signed, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=20), hashes.SHA256()
        )
    with pytest.raises(InvalidSignature):
        public.verify(
            signature, signed + b"/", padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256()
        )
    assert verify_kod2(url, public)
    assert verify_kod2(url, certificate)


def test_ec_signature_is_p1363(ec_key: ec.EllipticCurvePrivateKey) -> None:
    certificate = _certificate(ec_key)
    url = kod2_url_for_hash(
        "demo",
        context_type="Nip",
        context_value=NIP,
        seller_nip=NIP,
        invoice_hash=invoice_hash_b64(XML),
        certificate=certificate,
        private_key=ec_key,
    )
    signed, signature = _by_hand(url)
    assert len(signature) == 64 and len(url.rsplit("/", 1)[1]) == 86
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    public = certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(utils.encode_dss_signature(r, s), signed, ec.ECDSA(hashes.SHA256()))
    assert signed.decode() == f"qr-demo.ksef.mf.gov.pl/certificate/Nip/{NIP}/{NIP}/{SERIAL}/{invoice_hash_b64url(XML)}"
    assert verify_kod2(url, public)


def test_the_verifier_accepts_der_and_refuses_what_is_wrong(
    ec_key: ec.EllipticCurvePrivateKey, rsa_key: rsa.RSAPrivateKey
) -> None:
    data = kod2_signed_data(
        "test", context_type="Nip", context_value=NIP, seller_nip=NIP, cert_serial=SERIAL, invoice_hash=DOCS_HASH
    )
    der = ec_key.sign(data.encode(), ec.ECDSA(hashes.SHA256()))  # what MF's Java client writes
    der_url = f"https://{data}/{base64.urlsafe_b64encode(der).decode().rstrip('=')}"
    assert verify_kod2(der_url, ec_key.public_key())
    p1363_url = f"https://{data}/{sign_kod2(data, ec_key)}"
    assert verify_kod2(p1363_url, ec_key.public_key())
    # another key, a changed link, a trailing slash in what was signed, a PSS salt of 20, PKCS#1 v1.5
    assert not verify_kod2(p1363_url, ec.generate_private_key(ec.SECP256R1()).public_key())
    assert not verify_kod2(p1363_url.replace(f"/{NIP}/{NIP}/", f"/{NIP}/1111111111/"), ec_key.public_key())
    assert not verify_kod2(f"https://{data}/{sign_kod2(data + '/', ec_key)}", ec_key.public_key())
    assert not verify_kod2(p1363_url, rsa_key.public_key())
    salt20 = rsa_key.sign(
        data.encode(), padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=20), hashes.SHA256()
    )
    assert not verify_kod2(
        f"https://{data}/{base64.urlsafe_b64encode(salt20).decode().rstrip('=')}", rsa_key.public_key()
    )
    v15 = rsa_key.sign(data.encode(), padding.PKCS1v15(), hashes.SHA256())
    assert not verify_kod2(f"https://{data}/{base64.urlsafe_b64encode(v15).decode().rstrip('=')}", rsa_key.public_key())
    assert verify_kod2(f"https://{data}/{sign_kod2(data, rsa_key)}", rsa_key.public_key())
    # not links at all
    for url in ("", data, "http://" + p1363_url[8:], p1363_url + "/", p1363_url.replace("/certificate/", "/invoice/")):
        assert not verify_kod2(url, ec_key.public_key())


def test_parse_takes_a_link_apart(ec_key: ec.EllipticCurvePrivateKey) -> None:
    data = kod2_signed_data(
        "prod", context_type="InternalId", context_value="5265877635-00001", seller_nip=NIP, cert_serial=SERIAL,
        invoice_hash=DOCS_HASH,
    )  # fmt: skip
    link = parse_kod2(f"https://{data}/{sign_kod2(data, ec_key)}")
    assert (link.host, link.context_type, link.context_value, link.seller_nip) == (
        "qr.ksef.mf.gov.pl",
        "InternalId",
        "5265877635-00001",
        NIP,
    )
    assert (link.cert_serial, link.invoice_hash, link.signed_data, len(link.signature)) == (SERIAL, DOCS_HASH, data, 64)
    with pytest.raises(Kod2Error) as caught:
        parse_kod2("https://qr.ksef.mf.gov.pl/invoice/x")
    assert caught.value.key == "kod2.not_a_link" and caught.value.category is Category.INPUT


# ------------------------------------------------------------------------------------------------- refusals


def _make(key: object, certificate: x509.Certificate, **extra: str) -> str:
    return kod2_url(
        "test",
        context_type=extra.pop("context_type", "Nip"),
        context_value=extra.pop("context_value", NIP),
        seller_nip=extra.pop("seller_nip", NIP),
        xml=XML,
        certificate=certificate,
        private_key=key,
        **extra,
    )


def test_an_authentication_certificate_is_refused(ec_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(Kod2Error) as caught:
        _make(ec_key, _certificate(ec_key), kind="Authentication")
    error = caught.value
    assert isinstance(error, UserError) and isinstance(error, QrError) and isinstance(error, ValueError)
    assert error.key == "kod2.not_offline" and error.category is Category.CONFIG
    i18n.set_language("pl")
    try:
        assert "typu Offline" in error.message() and "Authentication" in error.message()
        assert "--type offline" in error.hint()
        i18n.set_language("en")
        assert "of type Offline" in error.message()
    finally:
        i18n.set_language(None)
    assert "Authentication" in str(error)
    assert _make(ec_key, _certificate(ec_key), kind=" OFFLINE ")  # the API's spelling or ours, any case


def test_a_key_that_is_not_the_certificates_is_refused(
    ec_key: ec.EllipticCurvePrivateKey, rsa_key: rsa.RSAPrivateKey
) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    for key in (other, rsa_key):
        with pytest.raises(Kod2Error) as caught:
            _make(key, _certificate(ec_key))
        assert caught.value.key == "kod2.key_mismatch" and caught.value.category is Category.CONFIG
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # nothing of the key in the error, in any form
        for text in (str(caught.value), caught.value.message(), caught.value.hint(), repr(caught.value.params)):
            assert "PRIVATE" not in text and pem.decode().splitlines()[1][:16] not in text


def test_weak_and_unsupported_keys_are_refused() -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(Kod2Error) as caught:
        _make(weak, _certificate(weak))
    assert caught.value.key == "kod2.weak_rsa" and caught.value.params == {"bits": 1024}
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(Kod2Error) as caught:
        _make(p384, _certificate(p384))
    assert caught.value.key == "kod2.unsupported_key" and caught.value.params == {"key": "EC secp384r1"}


def test_the_serial_must_be_the_certificates(ec_key: ec.EllipticCurvePrivateKey) -> None:
    certificate = _certificate(ec_key)
    with pytest.raises(Kod2Error) as caught:
        _make(ec_key, certificate, cert_serial="01F20A5D352AE591")
    assert caught.value.key == "kod2.serial_mismatch"
    with pytest.raises(Kod2Error) as caught:
        _make(ec_key, certificate, cert_serial="1F20A5D352AE590")  # 15 digits
    assert caught.value.key == "kod2.bad_serial"
    # a certificate KSeF did not issue (a 20-byte random serial) and no serial given
    with pytest.raises(Kod2Error) as caught:
        _make(ec_key, _certificate(ec_key, serial=x509.random_serial_number() | (1 << 150)))
    assert caught.value.key == "kod2.not_ksef_serial" and caught.value.category is Category.CONFIG


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"context_type": "nip"}, "kod2.bad_context_type"),
        ({"context_type": "Pesel", "context_value": "90010112345"}, "kod2.bad_context_type"),
        ({"context_value": "111111111"}, "kod2.bad_context_value"),
        ({"context_value": "1111111111/x"}, "kod2.bad_context_value"),
        ({"context_type": "InternalId", "context_value": NIP}, "kod2.bad_context_value"),
        ({"seller_nip": "PL5265877635"}, "qr.bad_nip"),
    ],
)
def test_bad_parts_are_refused(extra: dict[str, str], key: str, ec_key: ec.EllipticCurvePrivateKey) -> None:
    with pytest.raises(QrError) as caught:
        _make(ec_key, _certificate(ec_key), **extra)
    assert caught.value.key == key and caught.value.category is Category.INPUT


def test_bad_hash_and_environment() -> None:
    with pytest.raises(Kod2Error) as caught:
        kod2_signed_data(
            "test", context_type="Nip", context_value=NIP, seller_nip=NIP, cert_serial=SERIAL, invoice_hash="abc"
        )
    assert caught.value.key == "kod2.bad_hash"
    with pytest.raises(QrError) as unknown:
        kod2_signed_data(
            "te", context_type="Nip", context_value=NIP, seller_nip=NIP, cert_serial=SERIAL, invoice_hash=DOCS_HASH
        )
    assert unknown.value.key == "qr.unknown_env"


# ------------------------------------------------------------------------------------------------- the QR code


def test_the_qr_code_and_its_label(rsa_key: rsa.RSAPrivateKey) -> None:
    assert CERTIFICATE_LABEL == "CERTYFIKAT"
    url = _make(rsa_key, _certificate(rsa_key))
    qr = make_qr(url)
    assert not qr.is_micro and qr.error in ("M", "Q", "H")
    modules = qr_modules(url)
    assert len(modules) == len(modules[0]) == qr.symbol_size(scale=1, border=4)[0]
    svg = kod2_svg(url)
    assert svg.startswith("<?xml") and "<title>KOD II</title>" in svg
    assert i18n.PL["kod2.label"] == "KOD II (CERTYFIKAT)"
