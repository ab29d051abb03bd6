"""The downloader against a real faulty HTTP server on 127.0.0.1 (no mocks of requests)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from httpserver import Fault, FaultyServer
from wheelmaker import corrupt_member, wheel_bytes, wheel_name

from mamba_doctor import __version__
from mamba_doctor.download.fetch import DownloadResult, FetchRequest, fetch_files
from mamba_doctor.download.partial import PartState, save_state
from mamba_doctor.errors import ChecksumMismatch, DownloadError, UsageError

NAME = wheel_name()
BODY = wheel_bytes(payload_size=400_000, seed=b"fixed")
SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def fetch(cache: Path, url: str, *, filename: str = NAME, sha256: str | None = None,
          **kw: Any) -> DownloadResult:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("retries", 3)
    kw.setdefault("backoff", 0.01)
    kw.setdefault("allow_http", True)
    return fetch_files([FetchRequest("demo_pkg", filename, url, sha256)], cache_dir=cache, **kw)[0]


def final(cache: Path, name: str = NAME) -> Path:
    return cache / "wheels" / name


def part(cache: Path, name: str = NAME) -> Path:
    return cache / "wheels" / f"{name}.part"


def test_fresh_download_verifies_records_and_reports(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY)
    result = fetch(cache, url)
    assert result.path == final(cache) and result.path.read_bytes() == BODY
    assert result.to_dict() == {"package": "demo_pkg", "path": str(final(cache)), "url": url,
                                "sha256": SHA, "size": len(BODY), "resumed_from": 0,
                                "attempts": 1, "from_cache": False}
    assert not part(cache).exists() and not Path(f"{part(cache)}.json").exists()
    digests = json.loads((cache / "wheels" / "digests.json").read_text())
    assert digests[NAME]["sha256"] == SHA
    headers = server.hits[0].headers
    assert headers["Accept-Encoding"] == "identity"
    assert headers["User-Agent"] == f"mamba-doctor/{__version__}"
    assert "Range" not in headers


def test_drops_mid_body_several_times_resume_without_resending(server: FaultyServer,
                                                                cache: Path) -> None:
    drops = [Fault(drop_after=60_000)] * 3
    url = server.add(f"/f/{NAME}", BODY, faults=drops)
    result = fetch(cache, url, retries=2)  # progress resets the retry count
    assert result.path.read_bytes() == BODY and result.attempts == 4
    hits = server.hits_for(f"/f/{NAME}")
    assert [h.headers.get("Range") for h in hits] == [
        None, "bytes=60000-", "bytes=120000-", "bytes=180000-"]
    assert all(h.headers.get("If-Range") == '"v1"' for h in hits[1:])
    assert server.sent(f"/f/{NAME}") == len(BODY)  # not one byte transferred twice


def test_run_gives_up_then_next_run_resumes(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY,
                     faults=[Fault(drop_after=150_000)] + [Fault(status=503)] * 3)
    with pytest.raises(DownloadError) as info:
        fetch(cache, url, retries=2)
    assert not final(cache).exists()
    assert part(cache).stat().st_size == 150_000
    assert url in info.value.message and "HTTP 503" in info.value.message
    assert info.value.data["partial_bytes"] == 150_000
    assert "resumes" in (info.value.hint or "")
    before = server.sent(f"/f/{NAME}")
    result = fetch(cache, url)
    assert result.resumed_from == 150_000 and result.path.read_bytes() == BODY
    assert server.sent(f"/f/{NAME}") - before == len(BODY) - 150_000


def test_range_ignored_starts_over(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY, faults=[Fault(drop_after=100_000),
                                                  Fault(ignore_range=True)])
    result = fetch(cache, url)
    assert result.path.read_bytes() == BODY
    assert [h.status for h in server.hits] == [200, 200]


def _leave_part(cache: Path, data: bytes, url: str, size: int | None) -> None:
    part(cache).parent.mkdir(parents=True, exist_ok=True)
    part(cache).write_bytes(data)
    save_state(part(cache), PartState(url=url, validator='"v1"', size=size))


def test_416_with_complete_part_finishes_without_transfer(server: FaultyServer,
                                                          cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY)
    _leave_part(cache, BODY, url, len(BODY))  # killed after the last byte, before the rename
    result = fetch(cache, url)
    assert result.path.read_bytes() == BODY and result.resumed_from == len(BODY)
    assert [h.status for h in server.hits] == [416] and server.sent(f"/f/{NAME}") == 0


def test_416_with_wrong_size_discards_and_retries(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY)
    _leave_part(cache, BODY + b"junk", url, len(BODY) + 4)
    result = fetch(cache, url)
    assert result.path.read_bytes() == BODY and result.resumed_from == 0
    assert [h.status for h in server.hits] == [416, 200]


def test_wrong_content_range_starts_over(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY, faults=[Fault(drop_after=100_000),
                                                  Fault(serve_from=50_000)])
    result = fetch(cache, url)
    assert result.path.read_bytes() == BODY
    assert [h.headers.get("Range") for h in server.hits] == [None, "bytes=100000-", None]


@pytest.mark.parametrize("server_honours_if_range", [True, False])
def test_validator_changed_between_attempts(server: FaultyServer, cache: Path,
                                            server_honours_if_range: bool) -> None:
    new = wheel_bytes(payload_size=400_000, seed=b"rebuilt")
    change = Fault(change_to=new, ignore_if_range=not server_honours_if_range)
    url = server.add(f"/f/{NAME}", BODY, faults=[Fault(drop_after=100_000), change])
    result = fetch(cache, url)
    assert result.path.read_bytes() == new  # never a splice of the old and new files
    assert server.hits[1].headers["If-Range"] == '"v1"'


def test_gzip_body_is_refused_not_decoded(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY, faults=[Fault(gzip=True)])
    with pytest.raises(DownloadError, match=r"compressed body \(Content-Encoding: gzip\)"):
        fetch(cache, url, sha256=SHA)
    assert server.hits[0].headers["Accept-Encoding"] == "identity"
    assert len(server.hits) == 1  # refused, not retried: the same server would do it again
    assert not part(cache).exists() and not final(cache).exists()


def test_gzip_bomb_never_reaches_the_disk(server: FaultyServer, cache: Path) -> None:
    # 40 MiB of zeros is about 40 KiB gzipped; decoding on the fly would write all 40 MiB.
    bomb = b"PK\x03\x04" + bytes(40 << 20)
    url = server.add(f"/f/{NAME}", bomb, faults=[Fault(gzip=True)])
    mirror = server.add(f"/m/{NAME}", BODY)
    result = fetch(cache, url, mirrors=[mirror.rsplit("/", 1)[0] + "/"])
    assert result.url == mirror and result.path.read_bytes() == BODY
    assert server.sent(f"/f/{NAME}") < 1 << 20


def test_body_over_max_size_is_refused_and_discarded(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY)
    with pytest.raises(DownloadError, match="over the limit of 100000"):
        fetch_files([FetchRequest("demo_pkg", NAME, url)], cache_dir=cache, allow_http=True,
                    max_size=100_000)
    assert not part(cache).exists()


def test_endless_body_without_length_stops_at_max_size(tmp_path: Path, cache: Path) -> None:
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def serve() -> None:  # HTTP/1.0, no Content-Length: the body ends when the server stops
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\nPK\x03\x04")
        with contextlib.suppress(OSError):
            for _ in range(200):  # 200 MiB, far past the limit, unless the client hangs up
                conn.sendall(bytes(1 << 20))
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/{NAME}"
    with pytest.raises(DownloadError, match="past the limit of 3000000"):
        fetch_files([FetchRequest("demo_pkg", NAME, url)], cache_dir=cache, allow_http=True,
                    max_size=3_000_000, retries=0)
    assert not part(cache).exists()
    listener.close()


def test_redirect_chain_and_original_url_rerequested(server: FaultyServer, cache: Path) -> None:
    server.add("/objects/signed", BODY, faults=[Fault(drop_after=80_000)])
    server.redirect("/r2", server.url("/objects/signed"))
    url = server.redirect(f"/releases/{NAME}", server.url("/r2"))
    result = fetch(cache, url)
    assert result.url == url and result.path.read_bytes() == BODY
    assert len(server.hits_for(f"/releases/{NAME}")) == 2  # the signed target is never reused


def test_404_names_every_url_tried(server: FaultyServer, cache: Path) -> None:
    url = server.url(f"/missing/{NAME}")
    mirror = server.url("/lab/")
    with pytest.raises(DownloadError) as info:
        fetch(cache, url, mirrors=[mirror])
    message = info.value.message
    assert url in message and f"{mirror}{NAME}" in message and "HTTP 404" in message
    assert [t["url"] for t in info.value.data["tried"]] == [f"{mirror}{NAME}", url]
    assert not final(cache).exists() and not part(cache).exists()
    assert len(server.hits) == 2  # a 404 is not retried


def test_503_then_success(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY, faults=[Fault(status=503), Fault(status=503)])
    assert fetch(cache, url).attempts == 3


def test_stalled_server_read_timeout_then_retry(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY, faults=[Fault(stall_after=70_000, stall=5.0)])
    started = time.monotonic()
    result = fetch(cache, url, timeout=0.5)
    assert time.monotonic() - started < 4.0
    assert result.path.read_bytes() == BODY and result.attempts == 2
    assert server.hits[1].headers["Range"] == "bytes=70000-"


def test_html_page_with_200_is_refused_before_writing(server: FaultyServer, cache: Path) -> None:
    page = b"<!DOCTYPE html><html><body>Please log in</body></html>" + b" " * 3_000_000
    url = server.add(f"/f/{NAME}", BODY, faults=[Fault(body=page)] * 10)
    with pytest.raises(DownloadError, match="web page") as info:
        fetch(cache, url)
    assert info.value.exit_code == 5
    assert not final(cache).exists() and not part(cache).exists()


def test_truncated_file_is_rejected(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY[:-5000])  # the server itself has a short file
    with pytest.raises(DownloadError, match="not a valid wheel"):
        fetch(cache, url)
    assert not final(cache).exists() and not part(cache).exists()


def test_sha256_mismatch(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY)
    with pytest.raises(ChecksumMismatch, match="sha256 mismatch"):
        fetch(cache, url, sha256="ab" * 32)
    assert not final(cache).exists() and not part(cache).exists()


def test_corrupted_byte_inside_zip(server: FaultyServer, cache: Path) -> None:
    stored = wheel_bytes(payload_size=100_000, compression=zipfile.ZIP_STORED)
    url = server.add(f"/f/{NAME}", corrupt_member(stored))
    with pytest.raises(DownloadError, match=r"payload\.bin|CRC"):
        fetch(cache, url)
    assert not final(cache).exists() and not part(cache).exists()


def test_find_links_copy_needs_no_network(server: FaultyServer, cache: Path,
                                          tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / NAME).write_bytes(BODY)
    result = fetch(cache, server.url(f"/f/{NAME}"), find_links=[usb])
    assert result.url == (usb / NAME).resolve().as_uri() and result.attempts == 0
    assert result.path == final(cache) and result.path.read_bytes() == BODY
    assert server.hits == []


def test_find_links_broken_copy_falls_back_to_network(server: FaultyServer, cache: Path,
                                                      tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / NAME).write_bytes(BODY[:-100])
    url = server.add(f"/f/{NAME}", BODY)
    result = fetch(cache, url, find_links=[usb])
    assert result.url == url and result.path.read_bytes() == BODY


def test_mirror_order_and_fallback(server: FaultyServer, cache: Path) -> None:
    origin = server.add(f"/gh/{NAME}", BODY)
    server.add(f"/lab/wheels/{NAME}", BODY)
    broken = server.url("/dead/")
    lab = server.url("/lab/wheels/")
    result = fetch(cache, origin, mirrors=[broken, lab])
    assert result.url == f"{lab}{NAME}" and result.attempts == 2
    assert [h.path for h in server.hits] == [f"/dead/{NAME}", f"/lab/wheels/{NAME}"]


def test_proxy_prefix_mirror(server: FaultyServer, cache: Path) -> None:
    origin = server.url(f"/gh/{NAME}")
    server.add(f"/{origin}", BODY)  # what a GitHub proxy sees: the origin URL as its path
    result = fetch(cache, origin, mirrors=[server.url("/")])
    assert result.url == server.url("/") + origin


def test_proxy_from_environment(server: FaultyServer, cache: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    origin = f"http://wheels.example.invalid/{NAME}"
    server.add(origin, BODY)  # a forward proxy is asked for the absolute URL
    for key in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url(""))
    result = fetch(cache, origin)
    assert result.path.read_bytes() == BODY and server.hits[0].path == origin


def test_plain_http_refused_without_allow_http(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY)
    with pytest.raises(UsageError, match="refusing plain http") as info:
        fetch(cache, url, allow_http=False)
    assert "--allow-http" in (info.value.hint or "")
    assert server.hits == [] and not final(cache).exists()


def test_cached_wheel_is_not_downloaded_again_and_changes_are_noticed(
        server: FaultyServer, cache: Path, tmp_path: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY)
    fetch(cache, url)
    again = fetch(cache, url, dest=tmp_path / "out")
    assert again.from_cache and again.attempts == 0 and len(server.hits) == 1
    assert again.path == tmp_path / "out" / NAME and again.path.read_bytes() == BODY
    damaged = bytearray(BODY)
    damaged[1000] ^= 1
    final(cache).write_bytes(bytes(damaged))
    third = fetch(cache, url)
    assert not third.from_cache and len(server.hits) == 2
    assert final(cache).read_bytes() == BODY


def test_progress_bar_runs(server: FaultyServer, cache: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    url = server.add(f"/f/{NAME}", BODY, faults=[Fault(drop_after=100_000)])
    fetch(cache, url, show_progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "resumed at" in captured.err


def test_retry_after_is_honoured(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY,
                     faults=[Fault(status=429, headers={"Retry-After": "0.4"})])
    started = time.monotonic()
    result = fetch(cache, url)
    assert result.attempts == 2 and time.monotonic() - started >= 0.4


def test_retries_zero_gives_up_at_once(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY, faults=[Fault(status=502)])
    with pytest.raises(DownloadError, match=r"gave up after 1 attempt \(HTTP 502\)"):
        fetch(cache, url, retries=0)
    with pytest.raises(UsageError):
        fetch(cache, url, retries=-1)


def test_cache_hits_with_sha256_and_with_a_hand_placed_wheel(server: FaultyServer,
                                                            cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY)
    final(cache).parent.mkdir(parents=True)
    final(cache).write_bytes(BODY)  # copied in by hand: no digest record yet
    first = fetch(cache, url)
    assert first.from_cache and server.hits == []
    assert json.loads((cache / "wheels" / "digests.json").read_text())[NAME]["sha256"] == SHA
    assert fetch(cache, url, sha256=SHA).from_cache and server.hits == []
    into_cache = fetch(cache, url, dest=cache / "wheels")
    assert into_cache.path == final(cache)


def test_hand_placed_broken_wheel_is_replaced(server: FaultyServer, cache: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY)
    final(cache).parent.mkdir(parents=True)
    final(cache).write_bytes(BODY[:1000])
    result = fetch(cache, url)
    assert not result.from_cache and result.path.read_bytes() == BODY


def test_redirect_loop_fails_cleanly(server: FaultyServer, cache: Path) -> None:
    url = server.redirect(f"/loop/{NAME}", server.url(f"/loop/{NAME}"))
    with pytest.raises(DownloadError, match="more than 10 redirects"):
        fetch(cache, url)
    assert not final(cache).exists()


@pytest.mark.parametrize("bad", ["../evil.whl", "sub/x.whl", ""])
def test_request_must_name_a_plain_file(cache: Path, bad: str) -> None:
    with pytest.raises(UsageError, match="not a plain file name"):
        fetch(cache, "https://example.invalid/x.whl", filename=bad)


def test_second_file_failing_still_reports_the_first(server: FaultyServer, cache: Path) -> None:
    other = wheel_name("other_pkg")
    reqs = [FetchRequest("demo_pkg", NAME, server.add(f"/f/{NAME}", BODY)),
            FetchRequest("other_pkg", other, server.url(f"/f/{other}"))]
    with pytest.raises(DownloadError) as info:
        fetch_files(reqs, cache_dir=cache, allow_http=True, backoff=0.01)
    assert [d["package"] for d in info.value.data["downloads"]] == ["demo_pkg"]
    assert info.value.data["filename"] == other and not final(cache, other).exists()


def test_connection_errors_read_as_one_line() -> None:
    # A real refused connection (a port nobody listens on), not a mocked exception.
    import socket

    import requests

    from mamba_doctor.download.transfer import describe_error

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends
    url = f"http://127.0.0.1:{port}/x.whl"
    with pytest.raises(requests.ConnectionError) as info:
        requests.get(url, timeout=2)
    assert describe_error(info.value, url) == f"connection to 127.0.0.1:{port} refused"
    odd = ValueError("something else")
    assert describe_error(odd, url) == "ValueError: something else"
