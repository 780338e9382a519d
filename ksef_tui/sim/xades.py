"""Reading a signed ``AuthTokenRequest`` (CERTS_OFFLINE §1.1–§1.3, §7 items 1–2): the bytes, the document and
its one XAdES signature, in the order KSeF answers them (each failure is a synchronous 400):

1. the bytes are UTF-8 (else 21217) and well-formed XML without a DOCTYPE (else 21001);
2. the document, with its ``ds:Signature`` removed (the XSD has no wildcard for it), is valid against the auth
   XSD of its namespace, 2.0 or 2.1 (else 21401 with the validator's messages);
3. exactly one ``ds:Signature`` (none: 9102, more: 9103), enveloped (a child of the document) or enveloping
   (the document inside its ``ds:Object``); a detached signature covers nothing of the document;
4. the signature verifies (else 9105 with KSeF's detail texts): every reference's digest, the ``SignatureValue``
   over the canonical ``SignedInfo`` (RSA PKCS#1 v1.5 or PSS with a key of at least 2048 bits, ECDSA on a curve
   of at least 256 bits with the value as raw r‖s), inclusive or exclusive C14N, and the XAdES part: a
   referenced ``SignedProperties`` whose ``SigningCertificate``/``SigningCertificateV2`` digest is the
   certificate in ``KeyInfo``.

The schema is the packaged ``schemat_auth_v2-1.xsd`` with the anchor fix of §1.1 (libxml2 reads the ``^``/``$``
of the NipVatUe and PeppolId patterns literally, so no real value would pass); the 2.0 namespace is served by
the same schema (the 2.0 XSD does not compile; the two differ only in the IP patterns). C14N 1.1 is treated as
1.0 (they differ only for ``xml:id``/``xml:base`` in document subsets, which an auth request never has).
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import threading
from dataclasses import dataclass
from importlib import resources

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from lxml import etree

from ksef_tui.fa.xmlsafe import XmlRefused, parse_bytes
from ksef_tui.sim.errors import UNREADABLE, ApiError
from ksef_tui.sim.identity import der_of

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
XSD = "http://www.w3.org/2001/XMLSchema"
AUTH_2_0 = "http://ksef.mf.gov.pl/auth/token/2.0"
AUTH_2_1 = "http://ksef.mf.gov.pl/auth/token/2.1"
AUTH_NAMESPACES = (AUTH_2_0, AUTH_2_1)
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"

# Exception codes of POST /auth/xades-signature (their descriptions are in errors.DESCRIPTIONS).
BAD_ENCODING = 21217
NOT_SCHEMA_VALID = 21401
NO_SIGNATURE = 9102
TOO_MANY_SIGNATURES = 9103
BAD_SIGNATURE = 9105
INVALID_CERTIFICATE = 21115

# 9105 details as KSeF words them (CERTS_OFFLINE §1.3).
NEGATIVE = "Podpis zweryfikowany negatywnie."
UNSUPPORTED = "Podpis złożony z użyciem niewspieranego algorytmu kryptograficznego."
PROFILE = "Format podpisu niezgodny z akceptowanymi profilami XAdES."


def digest_mismatch(uri: str) -> str:
    return f"Nieprawidłowa wartość skrótu dla referencji wskazującej na element '{uri}'."


def not_found(uri: str | None) -> str:
    return f"Element wskazywany przez referencję '{'null' if uri is None else uri}' nie został odnaleziony."


# ------------------------------------------------------------------ algorithms (§1.2)
# URI -> (exclusive, with comments)
C14N: dict[str, tuple[bool, bool]] = {
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315": (False, False),
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments": (False, True),
    "http://www.w3.org/2006/12/xml-c14n11": (False, False),
    "http://www.w3.org/2006/12/xml-c14n11#WithComments": (False, True),
    "http://www.w3.org/2001/10/xml-exc-c14n#": (True, False),
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments": (True, True),
}
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
XPATH_FILTER2 = "http://www.w3.org/2002/06/xmldsig-filter2"

_SHA1 = hashes.SHA1()
DIGESTS: dict[str, hashes.HashAlgorithm] = {
    "http://www.w3.org/2000/09/xmldsig#sha1": _SHA1,
    "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256(),
    "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384(),
    "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512(),
    "http://www.w3.org/2007/05/xmldsig-more#sha3-256": hashes.SHA3_256(),
    "http://www.w3.org/2007/05/xmldsig-more#sha3-384": hashes.SHA3_384(),
    "http://www.w3.org/2007/05/xmldsig-more#sha3-512": hashes.SHA3_512(),
}
_MORE = "http://www.w3.org/2001/04/xmldsig-more#"
_MORE_2007 = "http://www.w3.org/2007/05/xmldsig-more#"
_MORE_2021 = "http://www.w3.org/2021/04/xmldsig-more#"
# URI -> (key kind: rsa | pss | ec, hash)
SIGNATURE_METHODS: dict[str, tuple[str, hashes.HashAlgorithm]] = {
    "http://www.w3.org/2000/09/xmldsig#rsa-sha1": ("rsa", _SHA1),
    _MORE + "rsa-sha256": ("rsa", hashes.SHA256()),
    _MORE + "rsa-sha384": ("rsa", hashes.SHA384()),
    _MORE + "rsa-sha512": ("rsa", hashes.SHA512()),
    _MORE_2007 + "sha1-rsa-MGF1": ("pss", _SHA1),
    _MORE_2007 + "sha256-rsa-MGF1": ("pss", hashes.SHA256()),
    _MORE_2007 + "sha384-rsa-MGF1": ("pss", hashes.SHA384()),
    _MORE_2007 + "sha512-rsa-MGF1": ("pss", hashes.SHA512()),
    _MORE_2007 + "sha3-256-rsa-MGF1": ("pss", hashes.SHA3_256()),
    _MORE_2007 + "sha3-384-rsa-MGF1": ("pss", hashes.SHA3_384()),
    _MORE_2007 + "sha3-512-rsa-MGF1": ("pss", hashes.SHA3_512()),
    _MORE + "ecdsa-sha1": ("ec", _SHA1),
    _MORE + "ecdsa-sha256": ("ec", hashes.SHA256()),
    _MORE + "ecdsa-sha384": ("ec", hashes.SHA384()),
    _MORE + "ecdsa-sha512": ("ec", hashes.SHA512()),
    _MORE_2021 + "ecdsa-sha3-256": ("ec", hashes.SHA3_256()),
    _MORE_2021 + "ecdsa-sha3-384": ("ec", hashes.SHA3_384()),
    _MORE_2021 + "ecdsa-sha3-512": ("ec", hashes.SHA3_512()),
}
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256


def _bad(detail: str) -> ApiError:
    return ApiError(BAD_SIGNATURE, detail)


# ------------------------------------------------------------------ the result
@dataclass(frozen=True)
class AuthRequest:
    """What a verified ``AuthTokenRequest`` asks for, and the certificate that signed it."""

    namespace: str
    challenge: str
    context_type: str  # Nip | InternalId | NipVatUe | PeppolId (the element's name)
    context_value: str
    subject_type: str  # certificateSubject | certificateFingerprint
    allowed_ips: list[tuple[str, str]] | None  # (ip4Addresses | ip4Ranges | ip4Masks, text); None = any
    certificate: x509.Certificate
    profile_warning: bool  # the XAdES properties were missing and only a warning was asked for


_IP_KINDS = {"Ip4Address": "ip4Addresses", "Ip4Range": "ip4Ranges", "Ip4Mask": "ip4Masks"}


def read_auth_request(body: bytes, *, enforce_profile: bool = True, allow_sha1: bool = True) -> AuthRequest:
    """Check ``body`` as KSeF does; raises :class:`ApiError` with the first failure's code."""
    _check_encoding(body)
    try:
        tree = parse_bytes(body)
    except (etree.XMLSyntaxError, XmlRefused, ValueError) as exc:
        raise ApiError(UNREADABLE, f"Nie można odczytać dokumentu XML: {exc}") from exc
    root = tree.getroot()
    document = _document_of(root)
    _check_schema(document)
    signatures = list(root.iter(f"{{{DS}}}Signature"))
    if not signatures:
        raise ApiError(NO_SIGNATURE)
    if len(signatures) > 1:
        raise ApiError(TOO_MANY_SIGNATURES)
    certificate, warning = _verify(
        root, signatures[0], document, enforce_profile=enforce_profile, allow_sha1=allow_sha1
    )
    return _request_of(document, certificate, warning)


# ------------------------------------------------------------------ bytes and schema
_DECLARED = re.compile(rb"\A(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def _check_encoding(body: bytes) -> None:
    declared = _DECLARED.match(body)
    if declared is not None and declared.group(1).decode("ascii").lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise ApiError(BAD_ENCODING)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(BAD_ENCODING) from exc


def _document_of(root: etree._Element) -> etree._Element:
    """The ``AuthTokenRequest``: the root, or (enveloping) the element inside the signature's ``ds:Object``."""
    if root.tag == f"{{{DS}}}Signature":
        for obj in root.iterfind(f"{{{DS}}}Object"):
            for child in obj:
                if isinstance(child.tag, str) and etree.QName(child).localname == "AuthTokenRequest":
                    return child
    return root


def _unanchor(pattern: str) -> str:
    """An XSD pattern is implicitly anchored; a leading ``^`` or trailing ``$`` would be read literally."""
    if pattern.startswith("^"):
        pattern = pattern[1:]
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1]
    return pattern


def auth_schema_source(namespace: str) -> etree._ElementTree:
    """The packaged auth XSD (2.1) with the anchor fix, its target namespace set to ``namespace``."""
    raw = resources.files("ksef_tui.fa").joinpath("schemas", "schemat_auth_v2-1.xsd").read_bytes()
    raw = raw.replace(AUTH_2_1.encode(), namespace.encode())
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    tree = etree.ElementTree(etree.fromstring(raw, parser))
    for facet in tree.iter(f"{{{XSD}}}pattern"):
        facet.set("value", _unanchor(facet.get("value", "")))
    return tree


_schemas: dict[str, etree.XMLSchema] = {}
_schema_lock = threading.Lock()


def _schema_errors(document: etree._Element) -> list[str]:
    namespace = etree.QName(document).namespace
    with _schema_lock:  # one compiled schema per namespace; its error_log is shared, so validate under the lock
        key = namespace if namespace in AUTH_NAMESPACES else AUTH_2_1
        schema = _schemas.get(key)
        if schema is None:
            schema = _schemas[key] = etree.XMLSchema(auth_schema_source(key))
        if schema.validate(etree.ElementTree(document)):
            return []
        return [entry.message for entry in schema.error_log]


def _remove_keeping_tail(element: etree._Element) -> None:
    """Remove ``element`` but not the text after it (that text belongs to its parent)."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _check_schema(document: etree._Element) -> None:
    unsigned = copy.deepcopy(document)
    for signature in list(unsigned.iter(f"{{{DS}}}Signature")):
        _remove_keeping_tail(signature)
    errors = _schema_errors(unsigned)
    if errors:
        raise ApiError(NOT_SCHEMA_VALID, *errors[:5])


def _request_of(document: etree._Element, certificate: x509.Certificate, warning: bool) -> AuthRequest:
    namespace = etree.QName(document).namespace or AUTH_2_1

    def child(parent: etree._Element, name: str) -> etree._Element | None:
        return parent.find(f"{{{namespace}}}{name}")

    challenge = child(document, "Challenge")
    context = child(document, "ContextIdentifier")
    subject = child(document, "SubjectIdentifierType")
    assert challenge is not None and context is not None and subject is not None  # the schema says so
    chosen = next(c for c in context if isinstance(c.tag, str))
    allowed: list[tuple[str, str]] | None = None
    policy = child(document, "AuthorizationPolicy")
    ips = child(policy, "AllowedIps") if policy is not None else None
    if ips is not None:
        entries = [(_IP_KINDS[etree.QName(e).localname], (e.text or "").strip()) for e in ips if isinstance(e.tag, str)]
        # An empty AllowedIps is schema-valid and sent by MF's own tests: read as "no restriction" (§8.4).
        allowed = entries or None
    return AuthRequest(
        namespace=namespace,
        challenge=(challenge.text or "").strip(),
        context_type=etree.QName(chosen).localname,
        context_value=(chosen.text or "").strip(),
        subject_type=(subject.text or "").strip(),
        allowed_ips=allowed,
        certificate=certificate,
        profile_warning=warning,
    )


# ------------------------------------------------------------------ the signature
def _one(parent: etree._Element, path: str) -> etree._Element | None:
    return parent.find(path, {"ds": DS, "xades": XADES})


def _b64(text: str | None) -> bytes:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad(NEGATIVE) from exc


def _digest(algorithm: hashes.HashAlgorithm, data: bytes) -> bytes:
    h = hashes.Hash(algorithm)
    h.update(data)
    return h.finalize()


def _digest_method(element: etree._Element | None, allow_sha1: bool) -> hashes.HashAlgorithm:
    uri = element.get("Algorithm") if element is not None else None
    algorithm = DIGESTS.get(uri or "")
    if algorithm is None or (algorithm is _SHA1 and not allow_sha1):
        raise _bad(UNSUPPORTED)
    return algorithm


def _certificate(signature: etree._Element) -> x509.Certificate:
    element = _one(signature, "ds:KeyInfo/ds:X509Data/ds:X509Certificate")
    if element is None:
        raise _bad(NEGATIVE)
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join((element.text or "").split()), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ApiError(INVALID_CERTIFICATE, "Nie można odczytać certyfikatu z elementu KeyInfo.") from exc


def _by_id(root: etree._Element, wanted: str) -> etree._Element | None:
    """The one element with ``Id``/``ID``/``id`` = ``wanted``; two such elements are refused (a wrapped
    signature must not choose which one is checked)."""
    found = [e for e in root.iter() if isinstance(e.tag, str) and wanted in (e.get("Id"), e.get("ID"), e.get("id"))]
    if len(found) > 1:
        raise _bad(NEGATIVE)
    return found[0] if found else None


def _same_place(element: etree._Element, work: etree._Element) -> etree._Element:
    """The element of the copy ``work`` at the place ``element`` has in its own tree."""
    steps = []
    node = element
    while (parent := node.getparent()) is not None:
        steps.append(parent.index(node))
        node = parent
    for index in reversed(steps):
        work = work[index]
    return work


def _reference_bytes(
    root: etree._Element, signature: etree._Element, reference: etree._Element, target: etree._Element | None
) -> bytes:
    """The octets a reference's digest is taken over: its node-set (comments removed, as for every same-document
    URI) through its transforms, canonicalized."""
    work = copy.deepcopy(root)
    work_signature = _same_place(signature, work)
    work_target = work if target is None else _same_place(target, work)
    exclusive, prefixes = False, None
    for transform in reference.iterfind(f"{{{DS}}}Transforms/{{{DS}}}Transform"):
        algorithm = transform.get("Algorithm", "")
        if algorithm in C14N:
            exclusive = C14N[algorithm][0]
            prefixes = _prefix_list(transform)
        elif algorithm == ENVELOPED or (algorithm == XPATH and "Signature" in "".join(transform.itertext())):
            _remove_keeping_tail(work_signature)
        elif algorithm == XPATH_FILTER2:
            _filter2(work, transform)
        else:
            raise _bad(UNSUPPORTED)
    for comment in list(work_target.iter(etree.Comment)):
        _remove_keeping_tail(comment)
    node: etree._Element | etree._ElementTree = work.getroottree() if target is None else work_target
    return etree.tostring(node, method="c14n", exclusive=exclusive, with_comments=False, inclusive_ns_prefixes=prefixes)


def _prefix_list(method: etree._Element) -> list[str] | None:
    inclusive = method.find("{http://www.w3.org/2001/10/xml-exc-c14n#}InclusiveNamespaces")
    if inclusive is None:
        return None
    return [("" if p == "#default" else p) for p in inclusive.get("PrefixList", "").split()] or None


def _filter2(work: etree._Element, transform: etree._Element) -> None:
    """XPath Filter 2.0, ``subtract`` filters only (how DSS cuts the signature out); anything else is refused."""
    for xpath in transform.iterfind(f"{{{XPATH_FILTER2}}}XPath"):
        if xpath.get("Filter") != "subtract":
            raise _bad(UNSUPPORTED)
        namespaces = {k: v for k, v in xpath.nsmap.items() if k}
        try:
            found = work.getroottree().xpath((xpath.text or "").strip(), namespaces=namespaces)
        except etree.XPathError as exc:
            raise _bad(UNSUPPORTED) from exc
        for element in found if isinstance(found, list) else []:
            if isinstance(element, etree._Element) and element.getparent() is not None:
                _remove_keeping_tail(element)


def _check_references(
    root: etree._Element, signature: etree._Element, signed_info: etree._Element, allow_sha1: bool
) -> list[tuple[etree._Element, etree._Element | None]]:
    """Every reference's digest; returns (reference, target) pairs (target ``None`` = the whole document)."""
    checked = []
    references = list(signed_info.iterfind(f"{{{DS}}}Reference"))
    if not references:
        raise _bad(NEGATIVE)
    for reference in references:
        uri = reference.get("URI")
        target: etree._Element | None
        if uri == "":
            target = None
        elif uri is not None and uri.startswith("#") and len(uri) > 1:
            target = _by_id(root, uri[1:])
            if target is None:
                raise _bad(not_found(uri))
        else:  # no URI, or an outside resource (a detached signature)
            raise _bad(not_found(uri))
        algorithm = _digest_method(reference.find(f"{{{DS}}}DigestMethod"), allow_sha1)
        expected = _b64(reference.findtext(f"{{{DS}}}DigestValue"))
        if _digest(algorithm, _reference_bytes(root, signature, reference, target)) != expected:
            raise _bad(digest_mismatch(uri))
        checked.append((reference, target))
    return checked


def _check_signature_value(
    signature: etree._Element, signed_info: etree._Element, cert: x509.Certificate, *, allow_sha1: bool
) -> None:
    method = signed_info.find(f"{{{DS}}}CanonicalizationMethod")
    c14n = C14N.get(method.get("Algorithm", "") if method is not None else "")
    if method is None or c14n is None:
        raise _bad(UNSUPPORTED)
    exclusive, comments = c14n
    data = etree.tostring(
        signed_info,
        method="c14n",
        exclusive=exclusive,
        with_comments=comments,
        inclusive_ns_prefixes=_prefix_list(method),
    )
    sig_method = signed_info.find(f"{{{DS}}}SignatureMethod")
    kind, algorithm = SIGNATURE_METHODS.get(
        sig_method.get("Algorithm", "") if sig_method is not None else "", ("", _SHA1)
    )
    if not kind or (algorithm is _SHA1 and not allow_sha1):
        raise _bad(UNSUPPORTED)
    value = _b64(signature.findtext(f"{{{DS}}}SignatureValue"))
    key = cert.public_key()
    try:
        if kind in ("rsa", "pss"):
            if not isinstance(key, rsa.RSAPublicKey):
                raise _bad(NEGATIVE)
            if key.key_size < MIN_RSA_BITS:
                raise _bad(UNSUPPORTED)
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15()
                if kind == "rsa"
                else padding.PSS(mgf=padding.MGF1(algorithm), salt_length=padding.PSS.AUTO)
            )
            key.verify(value, data, pad, algorithm)
            return
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise _bad(NEGATIVE)
        if key.curve.key_size < MIN_EC_BITS:
            raise _bad(UNSUPPORTED)
        size = (key.curve.key_size + 7) // 8
        if len(value) != 2 * size:  # XMLDSig ECDSA is raw r‖s of fixed length, never DER
            raise _bad(NEGATIVE)
        der = encode_dss_signature(int.from_bytes(value[:size], "big"), int.from_bytes(value[size:], "big"))
        key.verify(der, data, ec.ECDSA(algorithm))
    except InvalidSignature as exc:
        raise _bad(NEGATIVE) from exc


def _check_xades(
    signature: etree._Element,
    checked: list[tuple[etree._Element, etree._Element | None]],
    cert: x509.Certificate,
    allow_sha1: bool,
) -> bool:
    """``True`` when the XAdES properties are in order; ``False`` when they are missing. A signing-certificate
    reference naming another certificate is always refused."""
    properties = [
        p for p in signature.iterfind(f"{{{DS}}}Object/{{{XADES}}}QualifyingProperties/{{{XADES}}}SignedProperties")
    ]
    referenced = [p for p in properties if any(target is p for _, target in checked)]
    if not referenced:
        return False
    signed = referenced[0]
    certs = signed.findall(f"{{{XADES}}}SignedSignatureProperties/{{{XADES}}}SigningCertificate/{{{XADES}}}Cert")
    certs += signed.findall(f"{{{XADES}}}SignedSignatureProperties/{{{XADES}}}SigningCertificateV2/{{{XADES}}}Cert")
    if not certs:
        return False
    der = der_of(cert)
    for entry in certs:
        algorithm = _digest_method(entry.find(f"{{{XADES}}}CertDigest/{{{DS}}}DigestMethod"), allow_sha1)
        if _b64(entry.findtext(f"{{{XADES}}}CertDigest/{{{DS}}}DigestValue")) == _digest(algorithm, der):
            return True
    raise _bad(NEGATIVE)


def _covers(target: etree._Element | None, document: etree._Element) -> bool:
    if target is None:
        return True
    return target is document or any(ancestor is target for ancestor in document.iterancestors())


def _verify(
    root: etree._Element,
    signature: etree._Element,
    document: etree._Element,
    *,
    enforce_profile: bool,
    allow_sha1: bool,
) -> tuple[x509.Certificate, bool]:
    signed_info = signature.find(f"{{{DS}}}SignedInfo")
    if signed_info is None:
        raise _bad(NEGATIVE)
    cert = _certificate(signature)
    checked = _check_references(root, signature, signed_info, allow_sha1)
    if not any(
        _covers(target, document) for reference, target in checked if reference.get("Type") != SIGNED_PROPERTIES_TYPE
    ):
        raise _bad(PROFILE)  # detached: the signature does not cover the request
    _check_signature_value(signature, signed_info, cert, allow_sha1=allow_sha1)
    if _check_xades(signature, checked, cert, allow_sha1):
        return cert, False
    if enforce_profile:
        raise _bad(PROFILE)
    return cert, True
