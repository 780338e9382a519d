"""The XAdES-BES enveloped signature of a KSeF login, made by signxml and laid out as MF's reference signer
(CERTS_OFFLINE.md §1.2, ``KSeF.Client/Api/Services/SignatureService.cs``)::

    <ds:Signature Id="Signature">                     appended as the root's last child
      <ds:SignedInfo>                                 C14N 1.0 (inclusive); rsa-sha256 or ecdsa-sha256
        <ds:Reference URI="">                         enveloped-signature + exc-c14n, SHA-256
        <ds:Reference URI="#SignedProperties" Type="http://uri.etsi.org/01903#SignedProperties">  exc-c14n, SHA-256
      <ds:SignatureValue>                             ECDSA: raw r||s (signxml converts from DER)
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>   the signing certificate
      <ds:Object><xades:QualifyingProperties Target="#Signature">
        <xades:SignedProperties Id="SignedProperties"><xades:SignedSignatureProperties>
          <xades:SigningTime>  <xades:SigningCertificate><xades:Cert>
            <xades:CertDigest> SHA-256 of the DER </xades:CertDigest>
            <xades:IssuerSerial> X509IssuerName, decimal X509SerialNumber </xades:IssuerSerial>

signxml makes the digests, the canonical forms, the signature value and the KeyInfo; this subclass of its
``XAdESSigner`` only replaces its default layout (random Ids, SigningCertificateV2, a KeyInfo reference, a
DataObjectFormat, a KeyValue) with the one above. Elements are made through the elements signxml hands over
(``makeelement``), so this module needs no XML library of its own. It loads signxml and lxml: import it only
to sign.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.util import SigningSettings, namespaces
from signxml.xades.xades import XAdESSigner

from ksef_tui.ksef.xades import NAME_LABELS

SIGNATURE_ID = "Signature"
SIGNED_PROPERTIES_ID = "SignedProperties"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
EXCLUSIVE = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0

DS = f"{{{namespaces.ds}}}"
XADES = f"{{{namespaces.xades}}}"


def _child(parent: Any, tag: str, text: str | None = None, **attributes: str) -> Any:
    element = parent.makeelement(tag, attributes)
    element.text = text
    parent.append(element)
    return element


class KsefXadesSigner(XAdESSigner):
    """signxml's XAdES signer with MF's layout (module docstring)."""

    def __init__(self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, signing_time: datetime) -> None:
        method = SignatureMethod.RSA_SHA256 if isinstance(key, rsa.RSAPrivateKey) else SignatureMethod.ECDSA_SHA256
        super().__init__(
            signature_algorithm=method,
            digest_algorithm=DigestAlgorithm.SHA256,
            c14n_algorithm=CanonicalizationMethod.CANONICAL_XML_1_0,  # of SignedInfo, as .NET's default
        )
        self.signing_time = signing_time
        self.signed_signature_properties_annotators = [self.add_signing_time, self.add_signing_certificate]

    def _unpack(self, data: Any, references: Any) -> Any:
        # The whole-document reference (URI="") is canonicalised exclusively, like MF's (SignedInfo stays inclusive).
        sig_root, doc_root, c14n_inputs, found = super()._unpack(data, references)
        return sig_root, doc_root, c14n_inputs, [replace(ref, c14n_method=EXCLUSIVE) for ref in found]

    def _build_xades_ds_object(self, sig_root: Any, signing_settings: SigningSettings) -> None:
        sig_root.set("Id", SIGNATURE_ID)
        ds_object = _child(sig_root, f"{DS}Object")
        qualifying = _child(ds_object, f"{XADES}QualifyingProperties", Target=f"#{SIGNATURE_ID}")
        signed_properties = _child(qualifying, f"{XADES}SignedProperties", Id=SIGNED_PROPERTIES_ID)
        properties = _child(signed_properties, f"{XADES}SignedSignatureProperties")
        for annotator in self.signed_signature_properties_annotators:
            annotator(properties, sig_root=sig_root, signing_settings=signing_settings)
        # The reference to SignedProperties, exc-c14n like MF's (signxml's own has no transform and inclusive C14N).
        reference = _child(
            sig_root.find(f"{DS}SignedInfo"),
            f"{DS}Reference",
            URI=f"#{SIGNED_PROPERTIES_ID}",
            Type=SIGNED_PROPERTIES_TYPE,
        )
        _child(_child(reference, f"{DS}Transforms"), f"{DS}Transform", Algorithm=EXCLUSIVE.value)
        _child(reference, f"{DS}DigestMethod", Algorithm=self.digest_alg.value)
        canonical = self._c14n(signed_properties, algorithm=EXCLUSIVE)
        digest = self._get_digest(canonical, algorithm=self.digest_alg)
        _child(reference, f"{DS}DigestValue", base64.b64encode(digest).decode("ascii"))

    def add_signing_time(
        self, signed_signature_properties: Any, sig_root: Any, signing_settings: SigningSettings
    ) -> None:
        moment = self.signing_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _child(signed_signature_properties, f"{XADES}SigningTime", moment)

    def add_signing_certificate(
        self, signed_signature_properties: Any, sig_root: Any, signing_settings: SigningSettings
    ) -> None:
        """``SigningCertificate`` (XAdES 1.3.2, as MF's): the certificate's SHA-256 and its issuer and serial."""
        assert signing_settings.cert_chain
        cert: x509.Certificate = signing_settings.cert_chain[0]
        signing_certificate = _child(signed_signature_properties, f"{XADES}SigningCertificate")
        cert_node = _child(signing_certificate, f"{XADES}Cert")
        digest = _child(cert_node, f"{XADES}CertDigest")
        _child(digest, f"{DS}DigestMethod", Algorithm=self.digest_alg.value)
        _child(digest, f"{DS}DigestValue", base64.b64encode(cert.fingerprint(hashes.SHA256())).decode("ascii"))
        issuer_serial = _child(cert_node, f"{XADES}IssuerSerial")
        _child(issuer_serial, f"{DS}X509IssuerName", cert.issuer.rfc4514_string(NAME_LABELS))
        _child(issuer_serial, f"{DS}X509SerialNumber", str(cert.serial_number))


def sign_enveloped(
    xml: bytes,
    certificate: x509.Certificate,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    signing_time: datetime,
) -> bytes:
    """``xml`` signed (see the module docstring), serialised as UTF-8 with an XML declaration."""
    signer = KsefXadesSigner(key, signing_time)
    root = signer._fromstring(xml)  # type: ignore[no-untyped-call]  # signxml's hardened parser (no DTD, entities)
    signed = signer.sign(root, key=key, cert=[certificate], always_add_key_value=False)
    result: bytes = signer._tostring(signed, xml_declaration=True, encoding="utf-8")  # type: ignore[no-untyped-call]
    return result
