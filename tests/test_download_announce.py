"""Downloads say what they do: the file and its source before the first byte, every source in
the final error, and hints that never repeat what the user already did. Against the real
127.0.0.1 server of tests/httpserver.py."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import pytest
from httpserver import Fault, FaultyServer
from wheelmaker import wheel_bytes, wheel_name, write_wheel

from mamba_doctor.download.announce import fetching_line, human_size, source_name
from mamba_doctor.download.fetch import FetchRequest, fetch_files
from mamba_doctor.errors import DownloadError

NAME = wheel_name()
BODY = wheel_bytes(payload_size=50_000, seed=b"announce")


class Recorder:
    """A stand-in for sys.stderr that notes, for each line, how many body bytes the server had
    sent at that moment (and how many requests it had seen)."""

    def __init__(self, server: FaultyServer) -> None:
        self.server = server
        self.lines: list[tuple[str, int, int]] = []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            self.lines.append((line, len(self.server.hits),
                               sum(h.sent for h in self.server.hits)))
        return len(text)

    def flush(self) -> None:
        pass


def fetch(cache: Path, url: str, **kw: Any) -> Any:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("retries", 0)
    kw.setdefault("backoff", 0.01)
    kw.setdefault("allow_http", True)
    return fetch_files([FetchRequest("demo_pkg", NAME, url, size_hint=len(BODY))],
                       cache_dir=cache, **kw)


def test_the_fetching_line_is_on_stderr_before_any_request_or_byte(
        server: FaultyServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = server.add(f"/f/{NAME}", BODY)
    err = Recorder(server)
    monkeypatch.setattr(sys, "stderr", err)
    fetch(tmp_path / "cache", url)
    fetching = [(line, hits, sent) for line, hits, sent in err.lines
                if line.startswith("fetching ")]
    assert fetching == [(f"fetching {NAME} from 127.0.0.1:{server.port}, "
                         f"{human_size(len(BODY))}", 0, 0)], err.lines
    # a second run is served by the cache, and says so
    err.lines.clear()
    fetch(tmp_path / "cache", url)
    assert [ln for ln, _h, _s in err.lines] == [
        f"using {NAME} from the cache ({tmp_path / 'cache' / 'wheels' / NAME}), verified"]


def test_quiet_keeps_the_lines_back(server: FaultyServer, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """-q means "only errors" (setup_logging sets the package logger to ERROR): no line."""
    url = server.add(f"/f/{NAME}", BODY)
    err = Recorder(server)
    monkeypatch.setattr(sys, "stderr", err)
    package = logging.getLogger("mamba_doctor")
    before = package.level
    package.setLevel(logging.ERROR)  # setLevel, not the attribute: it clears logging's cache
    try:
        fetch(tmp_path / "cache", url)
    finally:
        package.setLevel(before)
    assert err.lines == []
    assert (tmp_path / "cache" / "wheels" / NAME).read_bytes() == BODY


def test_each_source_is_announced_before_it_is_tried_and_all_are_in_the_error(
        server: FaultyServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    origin = server.add(f"/origin/{NAME}", BODY, faults=[Fault(status=503)] * 5)
    server.add(f"/mirror/{NAME}", BODY, faults=[Fault(status=404)] * 5)
    links = tmp_path / "links"
    links.mkdir()
    err = Recorder(server)
    monkeypatch.setattr(sys, "stderr", err)
    with pytest.raises(DownloadError) as info:
        fetch(tmp_path / "cache", origin, mirrors=(server.url("/mirror/"),),
              find_links=(links,))
    said = [(ln, hits) for ln, hits, _s in err.lines if ln.startswith("fetching ")]
    assert said == [(f"fetching {NAME} from mirror 127.0.0.1:{server.port}, "
                     f"{human_size(len(BODY))}", 0),
                    (f"fetching {NAME} from 127.0.0.1:{server.port}, "
                     f"{human_size(len(BODY))}", 1)]
    message = info.value.message
    assert str(links / NAME) in message and "not there (--find-links)" in message
    assert server.url(f"/mirror/{NAME}") in message and "HTTP 404" in message
    assert origin in message and "HTTP 503" in message
    assert [t["url"] for t in info.value.data["tried"]] == [
        str(links / NAME), server.url(f"/mirror/{NAME}"), origin]
    # what the user already did is not suggested again
    hint = info.value.hint or ""
    assert "add --mirror" not in hint.lower() and "pass --find-links" not in hint
    assert "another --mirror" in hint and str(links) in hint


def test_without_mirror_or_find_links_the_hint_offers_both(server: FaultyServer,
                                                          tmp_path: Path) -> None:
    url = server.add(f"/f/{NAME}", BODY, faults=[Fault(status=500)] * 5)
    with pytest.raises(DownloadError) as info:
        fetch(tmp_path / "cache", url, announce=lambda _line: None)
    hint = info.value.hint or ""
    assert "Add --mirror PREFIX" in hint and "pass --find-links DIR" in hint


def test_a_bad_find_links_copy_is_listed_with_its_reason(server: FaultyServer,
                                                         tmp_path: Path) -> None:
    links = tmp_path / "links"
    links.mkdir()
    good = write_wheel(links)
    good.write_bytes(b"not a zip at all")
    url = server.add(f"/f/{NAME}", BODY, faults=[Fault(status=500)] * 5)
    with pytest.raises(DownloadError) as info:
        fetch(tmp_path / "cache", url, find_links=(links,), announce=lambda _line: None)
    first = info.value.data["tried"][0]
    assert first["url"] == str(good) and first["error"].startswith("does not verify")


def test_find_links_copy_is_announced_as_such(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    links = tmp_path / "links"
    links.mkdir()
    write_wheel(links)
    fetch_files([FetchRequest("demo_pkg", NAME, "https://example.invalid/" + NAME)],
                cache_dir=tmp_path / "cache", find_links=(links,))
    err = capsys.readouterr().err
    assert f"using {NAME} from --find-links ({(links / NAME).resolve().as_uri()}), " \
           "verified" in err


@pytest.mark.parametrize(("url", "said"), [
    ("https://github.com/state-spaces/mamba/releases/download/v2.2.2/x.whl",
     "github.com (release v2.2.2)"),
    ("https://ghproxy.example/https://github.com/state-spaces/mamba/releases/download/v2.2.2/"
     "x.whl", "mirror ghproxy.example"),
])
def test_source_names(url: str, said: str) -> None:
    origin = "https://github.com/state-spaces/mamba/releases/download/v2.2.2/x.whl"
    assert source_name(url, origin) == said


def test_fetching_line_names_file_release_and_size() -> None:
    name = "mamba_ssm-2.2.2+cu11torch2.0cxx11abiFALSE-cp38-cp38-linux_x86_64.whl"
    url = f"https://github.com/state-spaces/mamba/releases/download/v2.2.2/{name}"
    assert fetching_line(name, url, url, 150 * 2**20) == (
        f"fetching {name} from github.com (release v2.2.2), 150.0 MiB")
    assert fetching_line(name, url, url, None).endswith("(release v2.2.2)")
