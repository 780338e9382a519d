"""A small XAdES-BES signer for the simulator's tests, written here from CERTS_OFFLINE §1.2 (the layout of MF's
reference signer: enveloped ``ds:Signature Id="Signature"`` as the last child, inclusive C14N of ``SignedInfo``,
a ``URI=""`` reference with enveloped-signature + exc-c14n, a ``#SignedProperties`` reference, the signing
certificate in ``KeyInfo`` and in ``SigningCertificate``), with lxml and cryptography only — never the project's
client code. ECDSA values are raw r‖s, as KSeF wants them.

Also: test certificates (self-signed or issued by a test CA) with the subject recipes of CERTS_OFFLINE §2, the
``AuthTokenRequest`` document, and RSA keys made once per run (RSA generation is slow).
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID
from lxml import etree

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
AUTH_2_0 = "http://ksef.mf.gov.pl/auth/token/2.0"
AUTH_2_1 = "http://ksef.mf.gov.pl/auth/token/2.1"

C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
XPATH_FILTER2 = "http://www.w3.org/2002/06/xmldsig-filter2"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA1 = "http://www.w3.org/2000/09/xmldsig#sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
RSA_PSS_SHA256 = "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SIGNED_PROPERTIES = "http://uri.etsi.org/01903#SignedProperties"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_HASHES: dict[str, hashes.HashAlgorithm] = {SHA256: hashes.SHA256(), SHA1: hashes.SHA1()}


# ------------------------------------------------------------------ keys and certificates
@functools.cache
def rsa_key(slot: int = 0, bits: int = 2048) -> rsa.RSAPrivateKey:
    """RSA keys made once per run: ``slot`` tells them apart."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


def person_name(serial: str, given: str = "Jan", surname: str = "Kowalski") -> x509.Name:
    """A person's DN as MF's tools make it (``C=PL`` last)."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.GIVEN_NAME, given),
            x509.NameAttribute(NameOID.SURNAME, surname),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, serial),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{given} {surname}"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
        ]
    )


def seal_name(nip: str, organisation: str = "Firma sp. z o.o.") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"VATPL-{nip}"),
            x509.NameAttribute(NameOID.COMMON_NAME, organisation),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "PL"),
        ]
    )


def certificate(
    key: PrivateKey,
    subject: x509.Name,
    *,
    now: datetime | None = None,
    issuer: tuple[PrivateKey, x509.Certificate] | None = None,
    valid_days: tuple[float, float] = (-1, 730),
    ca: bool = False,
) -> x509.Certificate:
    """Self-signed (or issued by ``issuer``), valid ``valid_days`` around ``now``."""
    moment = now or datetime.now(UTC)
    signer_key, issuer_name = (issuer[0], issuer[1].subject) if issuer else (key, subject)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(moment + timedelta(days=valid_days[0]))
        .not_valid_after(moment + timedelta(days=valid_days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer_key, hashes.SHA256())
    )


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(der(cert)).hexdigest().upper()


# ------------------------------------------------------------------ the document
def auth_request(
    challenge: str,
    context_value: str,
    *,
    context_type: str = "Nip",
    subject_type: str = "certificateSubject",
    namespace: str = AUTH_2_1,
    allowed_ips: list[tuple[str, str]] | None = None,
) -> bytes:
    """An unsigned ``AuthTokenRequest``, indented (the signature must keep the whitespace as it is)."""
    policy = ""
    if allowed_ips is not None:
        entries = "".join(f"<{kind}>{value}</{kind}>" for kind, value in allowed_ips)
        policy = f"\n  <AuthorizationPolicy><AllowedIps>{entries}</AllowedIps></AuthorizationPolicy>"
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<AuthTokenRequest xmlns="{namespace}">\n'
        f"  <Challenge>{challenge}</Challenge>\n"
        f"  <ContextIdentifier><{context_type}>{context_value}</{context_type}></ContextIdentifier>\n"
        f"  <SubjectIdentifierType>{subject_type}</SubjectIdentifierType>{policy}\n"
        "</AuthTokenRequest>"
    )
    return text.encode("utf-8")


# ------------------------------------------------------------------ signing
def _c14n(node: etree._Element, algorithm: str) -> bytes:
    return etree.tostring(node, method="c14n", exclusive=algorithm == EXC_C14N, with_comments=False)


def _digest(data: bytes, algorithm: str) -> str:
    h = hashes.Hash(_HASHES[algorithm])
    h.update(data)
    return base64.b64encode(h.finalize()).decode()


def _sign_bytes(key: PrivateKey, data: bytes, method: str, *, ecdsa_der: bool) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        if method == RSA_PSS_SHA256:
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            return key.sign(data, pss, hashes.SHA256())
        return key.sign(data, padding.PKCS1v15(), hashes.SHA1() if method == RSA_SHA1 else hashes.SHA256())
    signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    if ecdsa_der:
        return signature
    r, s = decode_dss_signature(signature)
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _reference(
    parent: etree._Element, uri: str, transforms: list[str], digest: str, kind: str | None = None
) -> etree._Element:
    reference = etree.SubElement(parent, f"{{{DS}}}Reference", URI=uri)
    if kind is not None:
        reference.set("Type", kind)
    chain = etree.SubElement(reference, f"{{{DS}}}Transforms")
    for algorithm in transforms:
        transform = etree.SubElement(chain, f"{{{DS}}}Transform", Algorithm=algorithm)
        if algorithm == XPATH_FILTER2:  # as EU DSS cuts an enveloped signature out
            xpath = etree.SubElement(transform, f"{{{XPATH_FILTER2}}}XPath", Filter="subtract")
            xpath.text = "/descendant::ds:Signature"
    etree.SubElement(reference, f"{{{DS}}}DigestMethod", Algorithm=digest)
    etree.SubElement(reference, f"{{{DS}}}DigestValue")
    return reference


def sign(
    xml: bytes,
    key: PrivateKey,
    cert: x509.Certificate,
    *,
    method: str | None = None,
    signed_info_c14n: str = C14N,
    reference_c14n: str = EXC_C14N,
    digest: str = SHA256,
    xades: bool = True,
    signing_cert: x509.Certificate | None = None,
    ecdsa_der: bool = False,
    signing_time: datetime | None = None,
    packaging: str = "enveloped",
) -> bytes:
    """``xml`` with a XAdES-BES signature by ``key``/``cert``: ``packaging`` "enveloped" (the last child of the
    request), "xpath-filter2" (enveloped, cut out by an XPath Filter 2.0 ``subtract`` as EU DSS does) or
    "enveloping" (the request inside the signature's ``ds:Object Id="Document"``). ``signing_cert`` names another
    certificate in ``SigningCertificate``; ``xades=False`` leaves the XAdES properties out (plain XMLDSig)."""
    method = method or (RSA_SHA256 if isinstance(key, rsa.RSAPrivateKey) else ECDSA_SHA256)
    request = etree.fromstring(xml)
    enveloping = packaging == "enveloping"
    if enveloping:
        root = signature = etree.Element(f"{{{DS}}}Signature", Id="Signature", nsmap={"ds": DS})
    else:
        root = request
        signature = etree.SubElement(root, f"{{{DS}}}Signature", Id="Signature", nsmap={"ds": DS})
    signed_info = etree.SubElement(signature, f"{{{DS}}}SignedInfo")
    etree.SubElement(signed_info, f"{{{DS}}}CanonicalizationMethod", Algorithm=signed_info_c14n)
    etree.SubElement(signed_info, f"{{{DS}}}SignatureMethod", Algorithm=method)
    if enveloping:
        document_ref = _reference(signed_info, "#Document", [reference_c14n], digest)
    else:
        cut = XPATH_FILTER2 if packaging == "xpath-filter2" else ENVELOPED
        document_ref = _reference(signed_info, "", [cut, reference_c14n], digest)
    properties_ref = None
    if xades:
        properties_ref = _reference(signed_info, "#SignedProperties", [reference_c14n], digest, SIGNED_PROPERTIES)
    value = etree.SubElement(signature, f"{{{DS}}}SignatureValue")
    x509_data = etree.SubElement(etree.SubElement(signature, f"{{{DS}}}KeyInfo"), f"{{{DS}}}X509Data")
    etree.SubElement(x509_data, f"{{{DS}}}X509Certificate").text = base64.b64encode(der(cert)).decode()
    signed_properties = None
    if xades:
        obj = etree.SubElement(signature, f"{{{DS}}}Object")
        qualifying = etree.SubElement(
            obj, f"{{{XADES}}}QualifyingProperties", Target="#Signature", nsmap={"xades": XADES}
        )
        signed_properties = etree.SubElement(qualifying, f"{{{XADES}}}SignedProperties", Id="SignedProperties")
        ssp = etree.SubElement(signed_properties, f"{{{XADES}}}SignedSignatureProperties")
        moment = signing_time or datetime.now(UTC) - timedelta(minutes=1)
        etree.SubElement(ssp, f"{{{XADES}}}SigningTime").text = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        named = signing_cert or cert
        entry = etree.SubElement(etree.SubElement(ssp, f"{{{XADES}}}SigningCertificate"), f"{{{XADES}}}Cert")
        cert_digest = etree.SubElement(entry, f"{{{XADES}}}CertDigest")
        etree.SubElement(cert_digest, f"{{{DS}}}DigestMethod", Algorithm=digest)
        etree.SubElement(cert_digest, f"{{{DS}}}DigestValue").text = _digest(der(named), digest)
        serial = etree.SubElement(entry, f"{{{XADES}}}IssuerSerial")
        etree.SubElement(serial, f"{{{DS}}}X509IssuerName").text = named.issuer.rfc4514_string()
        etree.SubElement(serial, f"{{{DS}}}X509SerialNumber").text = str(named.serial_number)
    if enveloping:
        document = etree.SubElement(signature, f"{{{DS}}}Object", Id="Document")
        document.append(request)
        document_ref[-1].text = _digest(_c14n(document, reference_c14n), digest)
    else:
        # The document's digest: the request without its signature (enveloped-signature transform).
        unsigned = copy.deepcopy(root)
        unsigned.remove(unsigned[-1])
        document_ref[-1].text = _digest(_c14n(unsigned, reference_c14n), digest)
    if properties_ref is not None and signed_properties is not None:
        properties_ref[-1].text = _digest(_c14n(signed_properties, reference_c14n), digest)
    value.text = base64.b64encode(
        _sign_bytes(key, _c14n(signed_info, signed_info_c14n), method, ecdsa_der=ecdsa_der)
    ).decode()
    return bytes(etree.tostring(root, xml_declaration=True, encoding="utf-8"))
