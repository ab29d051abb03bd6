"""The overlay merge (pure): asset lists re-status known releases, new tags come from their
assets or their workflow, PyPI facts land per release; the overlay format is checked."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, Optional

import pytest
from clirunner import CliRunner
from fakeapi import FakeApis
from httpserver import FaultyServer
from wheel_envs import make_env

from mamba_doctor.cli import app
from mamba_doctor.index_update.http import next_link
from mamba_doctor.wheels.index import load_index
from mamba_doctor.wheels.merge import apply_overlay
from mamba_doctor.wheels.overlay import OverlayError, parse_overlay
from mamba_doctor.wheels.resolve import resolve
from mamba_doctor.wheels.workflow import expand, ngc_images, parse_publish_matrix

FETCHED = "2026-12-03T14:00:00Z"

# A publish.yaml build job in GitHub Actions' documented matrix syntax
# (https://docs.github.com/en/actions/how-tos/write-workflows/choose-what-workflows-do/run-job-variations),
# laid out as both repositories write theirs: flow lists, comments, an exclude list.
WORKFLOW = """\
name: Build wheels and deploy
on:
  push:
    tags:
      - v*
jobs:
  build_wheels:
    name: Build Wheel
    needs: setup_release
    strategy:
      fail-fast: false
      matrix:
        # glibc 2.35 runners
        os: [ubuntu-22.04, ubuntu-22.04-arm]
        python-version: ["3.11", "3.12"]
        torch-version: ["2.10.0", "2.11.0"]
        cuda-version:
          - "12.9.1"
          - "13.0.1"
        cxx11_abi: ["TRUE"]
        exclude:
          - torch-version: "2.10.0"   # built by the previous release
            os: ubuntu-22.04-arm
    uses: ./.github/workflows/_build.yml
  build_ngc_wheels:
    needs: [setup_release, check_for_ngc_images]
    strategy:
      matrix:
        os: [ubuntu-22.04, ubuntu-22.04-arm]
        container-image: ${{ fromJson(needs.check_for_ngc_images.outputs.images) }}
    uses: ./.github/workflows/_build_in_container.yml
    with:
      runs-on: ${{ matrix.os }}
"""


def overlay(releases: list, *, package: str = "mamba_ssm", pypi: Optional[dict] = None) -> Any:
    facts: dict = {"github": {"fetched": FETCHED, "url": "https://api.github.com/x",
                              "releases": releases}}
    if pypi is not None:
        facts["pypi"] = {"fetched": FETCHED, "url": "https://pypi.org/x", "versions": pypi}
    return parse_overlay({"format": "mamba-doctor-index-overlay", "schema": 1,
                          "created": FETCHED, "packages": {package: facts}})


@pytest.fixture(scope="module")
def bundled() -> Any:
    return load_index(overlay=False)


def test_the_workflow_reader_and_the_matrix_rule() -> None:
    rule = parse_publish_matrix(WORKFLOW)
    assert rule["cuda"] == ["12.9.1", "13.0.1"] and rule["exclude"] == [
        {"torch": "2.10.0", "os": "ubuntu-22.04-arm"}]
    combos = {c for c, _, _ in expand(rule)}
    assert len(combos) == 2 * 2 * 2 * 2 - 2 * 2  # 16 points, 4 excluded
    assert ("3.12", "linux_aarch64", "2.11", "13", True) in combos
    assert ("3.12", "linux_aarch64", "2.10", "12", True) not in combos
    assert parse_publish_matrix(WORKFLOW.replace("cxx11_abi:", "include:\n  - x: 1\n  y:")) \
        is None
    assert parse_publish_matrix("jobs:\n  other:\n    runs-on: x\n") is None


def test_ngc_window_over_an_uncertain_run_date() -> None:
    known = {"25.09": 1, "25.10": 1, "25.11": 1, "25.12": 1, "26.01": 1, "26.02": 1, "26.03": 1,
             "26.04": 1}
    got = dict(ngc_images(date(2026, 3, 10), date(2026, 5, 9), known))
    # 25.11-26.02 are a settled month of every possible run month; the rest may or may not be
    assert [k for k, v in got.items() if v == "expected"] == ["25.11", "25.12", "26.01", "26.02"]
    assert {k for k, v in got.items() if v == "unverified"} == {
        "25.09", "25.10", "26.03", "26.04", "26.05"}


def test_asset_list_restatuses_a_known_release(bundled: Any) -> None:
    rel = bundled.release("mamba_ssm", "v2.3.2")  # no list was ever seen: all expected
    listed = [w for w in rel.wheels if w.source == "matrix"][:5]
    extra = "mamba_ssm-2.3.1+cu12torch2.11cxx11abiTRUE-cp312-cp312-linux_x86_64.whl"
    assets = [{"name": w.filename, "size": 10, "sha256": "a" * 64} for w in listed]
    assets.append({"name": extra, "size": 11, "sha256": "b" * 64})
    merged = apply_overlay(bundled, overlay([{"tag": "v2.3.2", "published":
                                              "2026-05-09T12:00:00Z", "assets": assets}]))
    new = merged.release("mamba_ssm", "v2.3.2")
    by_name = {w.filename: w for w in new.wheels}
    assert all(by_name[w.filename].status == "observed" for w in listed)
    assert by_name[listed[0].filename].sha256 == "a" * 64
    others = [w for w in new.wheels if w.filename not in {a["name"] for a in assets}]
    assert others and all(w.status == "missing" for w in others)
    assert "GitHub Releases API, 2026-12-03" in others[0].status_detail
    added = by_name[extra]  # a manual upload: arch and build OS of the same runners
    assert (added.status, added.source, added.sha256, added.size) == ("observed", "extra",
                                                                      "b" * 64, 11)
    twin = next(w for w in rel.wheels if w.source == "matrix" and w.cuda == "12"
                and w.platform == "linux_x86_64")
    assert added.arches == twin.arches and 120 in added.arches
    assert added.build_os == "ubuntu-22.04" and added.origin == "github"
    assert new.origin == "github" and new.as_of == FETCHED
    assert bundled.release("mamba_ssm", "v2.3.2").origin == "bundled"  # not mutated


def test_a_release_still_uploading_keeps_its_expected_rows(bundled: Any) -> None:
    rel = bundled.release("mamba_ssm", "v2.3.2")
    one = rel.wheels[0]
    merged = apply_overlay(bundled, overlay([{"tag": "v2.3.2", "published":
                                              "2026-12-03T12:30:00Z",
                                              "assets": [{"name": one.filename}]}]))
    statuses = {w.status for w in merged.release("mamba_ssm", "v2.3.2").wheels}
    assert statuses == {"observed", "expected", "unverified"}


def test_new_tag_without_assets_is_derived_from_its_workflow(bundled: Any) -> None:
    rule = parse_publish_matrix(WORKFLOW)
    rule["ngc"] = True
    merged = apply_overlay(bundled, overlay(
        [{"tag": "v2.4.0", "published": "2026-06-15T09:00:00Z", "assets": [],
          "workflow": rule}], pypi={"2.4.0": {"sdist": "mamba_ssm-2.4.0.tar.gz",
                                              "requires_python": ">=3.10"}}))
    rel = merged.release("mamba_ssm", "v2.4.0")
    assert rel.origin == "workflow" and rel.pypi == ("2.4.0",) and rel.requires_python == ">=3.10"
    matrix = [w for w in rel.wheels if w.source == "matrix"]
    assert len(matrix) == 12 and {w.status for w in matrix} == {"expected"}
    assert "publish.yaml at v2.4.0" in matrix[0].status_detail
    assert all(w.arches and w.glibc == "2.35" for w in matrix)
    ngc = {w.torch: w.status for w in rel.wheels if w.ngc}
    assert [t for t, s in sorted(ngc.items()) if s == "expected"] == [
        "25.12", "26.01", "26.02", "26.03", "26.04"]
    assert ngc["26.05"] == ngc["26.06"] == "unverified"
    env = make_env(python="3.12", torch="2.11.0+cu130", cuda="13.0", abi=True)
    res = resolve(env, merged, "mamba_ssm")
    assert res.wheel.tag == "v2.4.0" and res.wheel.status == "expected"
    assert any("not confirmed" in n for n in res.notes)
    assert res.guess.outcome == "prebuilt" and "not confirmed" in res.guess.explanation


def test_new_tag_without_a_readable_workflow_uses_the_previous_release(bundled: Any) -> None:
    merged = apply_overlay(bundled, overlay([{"tag": "v2.3.3", "assets": []}]))
    rel, prev = merged.release("mamba_ssm", "v2.3.3"), bundled.release("mamba_ssm",
                                                                       "v2.3.2.post1")
    combos = {(w.python, w.platform, w.torch, w.cuda, w.cxx11abi) for w in rel.wheels
              if w.source == "matrix"}
    assert combos == {(w.python, w.platform, w.torch, w.cuda, w.cxx11abi) for w in prev.wheels
                      if w.source == "matrix"}
    assert "the workflow of v2.3.2.post1" in rel.wheels[0].status_detail
    assert rel.wheels[0].filename.startswith("mamba_ssm-2.3.3+")
    # PyPI has no 2.3.3 sdist in this overlay's bundled facts: pip cannot install it
    assert resolve(make_env(python="3.12", torch="2.10.0+cu128", cuda="12.8", abi=True),
                   merged, "mamba_ssm").guess.outcome == "no_sdist"


def test_pypi_facts_reach_each_release(bundled: Any) -> None:
    merged = apply_overlay(bundled, overlay([], package="causal_conv1d", pypi={
        "1.7.0": {"sdist": "causal_conv1d-1.7.0.tar.gz", "requires_python": ">=3.10"},
        "1.8.0": {"sdist": "causal_conv1d-1.8.0.tar.gz", "requires_python": ">=3.10"}}))
    assert merged.release("causal_conv1d", "v1.7.0").requires_python == ">=3.10"
    assert merged.release("causal_conv1d", "v1.6.0").pypi == ()  # not in this PyPI answer
    from mamba_doctor.wheels.freshness import freshness

    fresh = freshness(merged, today=date(2026, 12, 3))
    assert fresh.unknown_pypi == ("causal-conv1d 1.8.0",) and fresh.stale
    assert "PyPI has causal-conv1d 1.8.0, which the index does not know" in fresh.line()
    assert "run `mamba-doctor index update`" in fresh.line()


@pytest.mark.parametrize(("change", "words"), [
    ({"schema": 2}, "schema 2"),
    ({"format": "x"}, "not a mamba-doctor index overlay"),
    ({"packages": {"numpy": {}}}, "unknown package"),
    ({"packages": {"mamba_ssm": {"github": {"fetched": FETCHED, "url": "u", "releases": [
        {"tag": "v1", "assets": [{"name": "../../etc/passwd"}]}]}}}}, "not a file name"),
    ({"packages": {"mamba_ssm": {"github": {"fetched": FETCHED, "url": "u", "releases": [
        {"tag": "v1", "assets": [{"name": "a.whl", "sha256": "XYZ"}]}]}}}}, "64 lowercase hex"),
    ({"created": "yesterday"}, "created"),
])
def test_parse_overlay_refuses_what_the_loader_cannot_use(change: dict, words: str) -> None:
    doc = {"format": "mamba-doctor-index-overlay", "schema": 1, "created": FETCHED,
           "packages": {}}
    doc.update(change)
    with pytest.raises(OverlayError, match=words):
        parse_overlay(doc)


@pytest.mark.parametrize(("header", "url"), [
    ('<https://api.github.com/repositories/1/releases?page=2>; rel="next", '
     '<https://api.github.com/repositories/1/releases?page=4>; rel="last"',
     "https://api.github.com/repositories/1/releases?page=2"),
    ('<https://x/?page=1>; rel="prev", <https://x/?page=3>; rel="next"', "https://x/?page=3"),
    ('<https://x/?page=1>; rel="first"', None),
    ("", None),
])
def test_next_link(header: str, url: Optional[str]) -> None:
    assert next_link({"Link": header}) == url


def test_update_reads_the_workflow_of_a_tag_with_no_wheels_yet(server: FaultyServer,
                                                               tmp_path: Path) -> None:
    fake = FakeApis(server)
    fake.add_release("causal_conv1d", "v1.8.0", [], published="2026-11-30T10:00:00Z",
                     workflow=WORKFLOW)
    fake.publish()
    r = CliRunner().invoke(app, ["index", "update", "--api-url", fake.api_url, "--pypi-url",
                                 fake.pypi_url, "--allow-http", "--json"])
    assert r.exit_code == 0, r.output
    assert server.hits_for("/github/repos/Dao-AILab/causal-conv1d/contents/.github/workflows/"
                           "publish.yaml?ref=v1.8.0")
    rel = load_index().release("causal_conv1d", "v1.8.0")
    assert rel.origin == "workflow" and rel.workflow["torch"] == ["2.10.0", "2.11.0"]
    assert {w.torch for w in rel.wheels if w.source == "matrix"} == {"2.10", "2.11"}
    doc = json.loads(r.stdout)["data"]
    assert doc["packages"]["causal_conv1d"]["new_tags"] == ["v1.8.0"]
