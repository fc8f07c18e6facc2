"""Certificates and keys of one control plane run: generated fresh, never reused."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_LIFETIME = datetime.timedelta(days=2)


@dataclass(frozen=True)
class Identity:
    """A client certificate and key pair, as files."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    """Files the components and clients of one run read."""

    ca: Path
    serving: Identity
    service_account_key: Path
    service_account_pub: Path
    admin: Identity
    controller_manager: Identity
    scheduler: Identity
    kwok: Identity


def generate(folder: Path) -> Pki:
    """A CA, the API server's serving certificate for 127.0.0.1, the service-account key pair
    and one client certificate per component (each with its bootstrap RBAC identity)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kfops-test-ca")])
    ca_cert = (_builder(ca_name, ca_name, ca_key.public_key())
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False,
                                            False), critical=True)
               .sign(ca_key, hashes.SHA256()))
    ca = _write_cert(folder / "ca.crt", ca_cert)
    _write_key(folder / "ca.key", ca_key)

    def issue(name: str, common: str, org: str | None, server: bool = False) -> Identity:
        return _issue(folder, name, (ca_cert, ca_key), common, org, server=server)

    sa_key = ec.generate_private_key(ec.SECP256R1())
    return Pki(
        ca=ca,
        serving=issue("apiserver", "kube-apiserver", None, server=True),
        service_account_key=_write_key(folder / "sa.key", sa_key),
        service_account_pub=_write_public(folder / "sa.pub", sa_key),
        admin=issue("admin", "kfops-test-admin", "system:masters"),
        controller_manager=issue("controller-manager", "system:kube-controller-manager", None),
        scheduler=issue("scheduler", "system:kube-scheduler", None),
        kwok=issue("kwok", "kwok", "system:masters"),
    )


def issue_client(folder: Path, name: str, user: str, group: str | None = None) -> Identity:
    """A client certificate of `user` (in `group`) from the CA in folder (ca.crt, ca.key)."""
    ca_cert = x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{folder / 'ca.key'} is not the EC key generate() writes")
    return _issue(folder, name, (ca_cert, ca_key), user, group)


def _issue(folder: Path, name: str, ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
           common: str, org: str | None, *, server: bool = False) -> Identity:
    ca_cert, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
    if org:
        attributes.insert(0, x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    builder = (_builder(x509.Name(attributes), ca_cert.subject, key.public_key())
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage(
                   [ExtendedKeyUsageOID.SERVER_AUTH if server
                    else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("localhost"), x509.DNSName("kubernetes"),
            x509.DNSName("kubernetes.default.svc"),
        ]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return Identity(_write_cert(folder / f"{name}.crt", cert),
                    _write_key(folder / f"{name}.key", key))


def _builder(subject: x509.Name, issuer: x509.Name,
             public: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + _LIFETIME))


def _write_cert(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.touch(mode=0o600)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def _write_public(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path
