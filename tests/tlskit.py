"""A throw-away CA and a server certificate for 127.0.0.1, made with the openssl command line."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA certificate (PEM): what SSL_CERT_FILE would name
    ca_dir: Path  # a folder holding it under its hash name: what SSL_CERT_DIR would name
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def make_pki(folder: Path) -> Pki:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make test certificates")
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=mamba-doctor test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash")
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext")
    ca_dir = folder / "certs"
    ca_dir.mkdir(exist_ok=True)
    hashed = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", "ca.pem"], cwd=folder,
                            check=True, capture_output=True, text=True).stdout.strip()
    shutil.copy(folder / "ca.pem", ca_dir / f"{hashed}.0")
    return Pki(folder / "ca.pem", ca_dir, folder / "server.pem", folder / "server.key")
