"""Redirect chains, TLS failures, CA bundles and credentials, against real HTTPS on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirunner import CliRunner
from httpserver import FaultyServer
from tlskit import Pki, make_pki
from wheelmaker import wheel_bytes, wheel_name

from mamba_doctor.cli import app
from mamba_doctor.download.fetch import FetchRequest, fetch_files
from mamba_doctor.download.transfer import make_session
from mamba_doctor.errors import DownloadError

NAME = wheel_name()
BODY = wheel_bytes(payload_size=200_000, seed=b"tls")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_server(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyServer]:
    for key in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(key, raising=False)
    for key in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(key, "127.0.0.1,localhost")
    srv = FaultyServer(tls=pki.server_context())
    yield srv
    srv.close()


def _fetch(cache: Path, url: str, **kw: object) -> object:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("retries", 3)
    kw.setdefault("timeout", 5.0)
    return fetch_files([FetchRequest("demo_pkg", NAME, url)], cache_dir=cache, **kw)[0]


def _trusting(pki: Pki) -> object:
    return make_session({"SSL_CERT_FILE": str(pki.ca)})


@pytest.fixture
def trusted(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))  # requests' own variable


def test_https_http_https_chain_is_refused_before_the_plain_request(
        tls_server: FaultyServer, server: FaultyServer, trusted: None, tmp_path: Path) -> None:
    final = tls_server.add(f"/objects/{NAME}", BODY)
    hop = server.redirect("/hop", final)  # the plain-http hop in the middle
    origin = tls_server.redirect(f"/releases/{NAME}", hop)
    with pytest.raises(DownloadError, match="redirected to plain http") as info:
        _fetch(tmp_path / "c", origin)
    assert "before requesting it" in info.value.message
    assert server.hits == []  # not one byte went out in clear
    assert tls_server.hits_for(f"/objects/{NAME}") == []
    # With --allow-http the same chain is followed to the end.
    result = _fetch(tmp_path / "c", origin, allow_http=True)
    assert result.path.read_bytes() == BODY and len(server.hits) == 1


def test_direct_https_to_http_redirect_sends_nothing_in_clear(
        tls_server: FaultyServer, server: FaultyServer, trusted: None, tmp_path: Path) -> None:
    plain = server.add(f"/signed/{NAME}?X-Amz-Signature=SIGSECRET", BODY)
    origin = tls_server.redirect(f"/releases/{NAME}", plain)
    with pytest.raises(DownloadError, match="redirected to plain http") as info:
        _fetch(tmp_path / "c", origin)
    assert server.hits == []
    assert "SIGSECRET" not in info.value.message  # the signed URL is not printed either


def test_untrusted_certificate_is_not_retried_and_hints_at_the_ca_bundle(
        tls_server: FaultyServer, tmp_path: Path) -> None:
    url = tls_server.add(f"/f/{NAME}", BODY)
    with pytest.raises(DownloadError, match="TLS certificate verification failed") as info:
        _fetch(tmp_path / "c", url, retries=5)
    assert tls_server.connections == 1  # one handshake, no retries
    assert "SSL_CERT_FILE" in (info.value.hint or "")
    assert "Max retries" not in info.value.message and "SSLError(" not in info.value.message


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR"])
def test_ssl_cert_file_and_dir_are_honoured(tls_server: FaultyServer, pki: Pki, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            variable: str) -> None:
    url = tls_server.add(f"/f/{NAME}", BODY)
    monkeypatch.setenv(variable, str(pki.ca if variable == "SSL_CERT_FILE" else pki.ca_dir))
    assert _fetch(tmp_path / "c", url).path.read_bytes() == BODY


def test_make_session_reads_the_openssl_variables(pki: Pki) -> None:
    assert _trusting(pki).verify == str(pki.ca)
    assert make_session({}).verify is True


def test_requests_ca_bundle_still_wins(tls_server: FaultyServer, pki: Pki, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    url = tls_server.add(f"/f/{NAME}", BODY)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca))
    assert _fetch(tmp_path / "c", url).path.read_bytes() == BODY


SECRET = "hunter2-s3cret"


def test_credentials_never_reach_output_json_logs_or_digests(
        server: FaultyServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    name = "mamba_ssm-2.2.2+cu118torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl"
    body = wheel_bytes("mamba_ssm", "2.2.2+cu118torch2.0cxx11abiFALSE",
                       tags="cp38-cp38-linux_x86_64", payload_size=50_000, seed=b"cred")
    server.add(f"/w/{name}", body)
    env = tmp_path / "env.json"
    env.write_text(json.dumps({"os": {"system": "Linux", "arch": "x86_64"}}))
    base = f"http://alice:{SECRET}@127.0.0.1:{server.port}"
    runner = CliRunner()
    caplog.set_level(logging.DEBUG)
    # A mirror with a password that answers 404, a token mirror, then the origin: all fail or
    # succeed with the secrets in the URLs.
    failing = runner.invoke(app, [
        "fetch-wheel", "--env", str(env), "--url", f"{base}/missing/{name}",
        "--mirror", f"http://{SECRET}@127.0.0.1:{server.port}/nothing/",
        "--mirror", f"http://127.0.0.1:{server.port}/q/{{filename}}?token={SECRET}",
        "--allow-http", "--retries", "0", "--json"])
    assert failing.exit_code == 5, failing.output
    human = runner.invoke(app, ["fetch-wheel", "--env", str(env), "--url",
                                f"{base}/missing/{name}", "--allow-http", "--retries", "0"])
    assert human.exit_code == 5
    ok = runner.invoke(app, ["fetch-wheel", "--env", str(env), "--url", f"{base}/w/{name}",
                             "--allow-http", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["data"]["downloads"][0]["url"] == (
        f"http://alice:***@127.0.0.1:{server.port}/w/{name}")
    digests = Path(os.environ["MAMBA_DOCTOR_CACHE_DIR"]) / "wheels" / "digests.json"
    ours = "\n".join(r.getMessage() for r in caplog.records
                     if r.name.startswith("mamba_doctor"))
    seen = [failing.output, ok.output, human.output, digests.read_text(), ours]
    for text in seen:
        assert SECRET not in text
    assert "alice:***@" in failing.stdout
    # The secret did reach the server: redaction is about what is shown, not what is sent.
    assert any(h.headers.get("Authorization") for h in server.hits)


def test_a_session_token_is_not_sent_to_the_host_a_redirect_points_at(
        server: FaultyServer, tmp_path: Path) -> None:
    storage = FaultyServer()  # another host:port, as GitHub's API -> objects.githubusercontent
    try:
        final = storage.add(f"/objects/{NAME}", BODY)
        origin = server.redirect(f"/api/{NAME}", final)
        session = make_session({})
        session.headers["Authorization"] = "Bearer API-TOKEN"
        result = _fetch(tmp_path / "c", origin, session=session, allow_http=True)
        assert result.path.read_bytes() == BODY
        assert server.hits[0].headers.get("Authorization") == "Bearer API-TOKEN"
        assert [h.headers.get("Authorization") for h in storage.hits] == [None]
    finally:
        storage.close()
