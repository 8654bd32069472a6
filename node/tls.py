"""A prefecture's own certificate authority, so an operator never runs openssl.

`tiersync ca init` at the top makes the CA (`<data_dir>/tls/ca.pem`, its key `ca.key`, 0600);
`tiersync ca issue CODE --host …` (or `tiersync child add CODE --host …` where the CA is) issues
a node its server certificate for its host names and addresses, in a directory to hand to that
node: `node.pem`, `node.key` (0600) and `ca.pem` — its TIERSYNC_TLS_CERT, TIERSYNC_TLS_KEY and,
for its children, TIERSYNC_PARENT_CA. The CA key never leaves the top node.

The same directory holds the node's signing key (`identity.key`, 0600, of the deployment's
suite) and the CA's certificate of it (`key-cert.json`, federation/keycert.py): the node adopts
both at its first start (federation.identity.Identity.adopt), so every ancestor can check its key
with the CA, whatever relays carried it. `certify` certifies a key made at the node instead.
"""

import base64
import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from federation import keycert
from federation.crypto import suite
from federation.identity import key_file_record

CA_DIR = "tls"
CA_CERT, CA_KEY = "ca.pem", "ca.key"
NODE_CERT, NODE_KEY = "node.pem", "node.key"
CA_YEARS, NODE_DAYS = 10, 825
SIGNING_KEY, KEY_CERT = "identity.key", "key-cert.json"


class CaError(Exception):
    """No CA here, one already there, or a host that is no name; the message says which."""


@dataclass(frozen=True)
class Issued:
    directory: Path
    cert: Path
    key: Path
    ca: Path
    hosts: tuple[str, ...]


def ca_paths(data_dir: Path) -> tuple[Path, Path]:
    base = Path(data_dir) / CA_DIR
    return base / CA_CERT, base / CA_KEY


def _write(path: Path, data: bytes, *, secret: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    if secret:
        os.chmod(path, 0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def init_ca(data_dir: Path, *, name: str, force: bool = False) -> Path:
    """Create this node's CA; CaError when one exists (unless `force`)."""
    cert_path, key_path = ca_paths(data_dir)
    if cert_path.exists() and not force:
        raise CaError(f"{cert_path} 已有 CA（加 --force 重新创建）")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"tiersync CA {name}"[:64])])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_path, _key_pem(key), secret=True)
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), secret=False)
    return cert_path


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not host or len(host) > 253 or any(c in host for c in " /\\:@"):
        raise CaError(f"{host!r} 既不是主机名，也不是 IP 地址")
    return x509.DNSName(host.lower())


def _need_ca(data_dir: Path) -> tuple[Path, Path]:
    cert_path, key_path = ca_paths(data_dir)
    if not key_path.exists():
        raise CaError(
            f"{cert_path} 没有 CA：证书由持有 CA 的节点签发；请在最高级节点运行 "
            "`tiersync ca init`，并在该节点运行 `tiersync ca issue`"
        )
    return cert_path, key_path


def certify(
    data_dir: Path, *, code: str, suite_name: str, public_key: bytes, out: Path | None = None
) -> Path:
    """The CA's key certificate for a signing key made elsewhere (`tiersync key show`)."""
    cert_path, key_path = _need_ca(data_dir)
    cert = keycert.certify(
        key_path.read_bytes(),
        cert_path.read_bytes(),
        node=code,
        suite=suite_name,
        public_key=public_key,
    )
    target = (out or Path(data_dir) / CA_DIR / "issued" / code) / KEY_CERT
    _write(target, orjson.dumps(cert.wire(), option=orjson.OPT_INDENT_2), secret=False)
    return target


def issue(
    data_dir: Path,
    *,
    code: str,
    hosts: list[str],
    out: Path | None = None,
    suite_name: str = "default",
) -> Issued:
    """A server certificate for node `code` at `hosts`, signed by this node's CA, and the
    node's signing key with its key certificate (unless the directory holds one already)."""
    cert_path, key_path = _need_ca(data_dir)
    if not hosts:
        raise CaError("请至少给出一个 --host（下级访问该节点所用的名称或地址）")
    names = [_san(h) for h in dict.fromkeys(hosts)]
    ca_key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"tiersync {code}")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=NODE_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    directory = out or Path(data_dir) / CA_DIR / "issued" / code
    issued = Issued(
        directory,
        directory / NODE_CERT,
        directory / NODE_KEY,
        directory / CA_CERT,
        tuple(dict.fromkeys(hosts)),
    )
    _write(issued.key, _key_pem(key), secret=True)
    _write(issued.cert, cert.public_bytes(serialization.Encoding.PEM), secret=False)
    _write(issued.ca, cert_path.read_bytes(), secret=False)
    signing = directory / SIGNING_KEY
    if signing.exists():  # issued again (new hosts, a new CA): the node keeps its signing key
        public = base64.b64decode(orjson.loads(signing.read_bytes())["public"])
    else:
        pair = suite(suite_name).generate_signing_key()
        _write(signing, orjson.dumps(key_file_record(pair, suite_name)), secret=True)
        public = pair.public
    certify(data_dir, code=code, suite_name=suite_name, public_key=public, out=directory)
    return issued
