"""Hostile values for the fuzz suite: wrong types, non-ASCII digits, huge numbers, shell
metacharacters, control characters and terminal escapes, mixed with plausible facts so that the
code behind the first checks is reached too."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# "ci": a bounded run for every test session (seconds); "deep": for a hunt, by hand:
#   HYPOTHESIS_PROFILE=deep pytest tests/test_fuzz.py
settings.register_profile("ci", max_examples=150, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("deep", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

NASTY_TEXT = [
    "\u00b2", "\u0663.\u0661\u0661", "\u0969\u096f", "\uff11\uff12.\uff14",
    "2.0.0' ; touch X ; echo '",
    "$(touch X)", "`touch X`", "a\nb", "\x1b]8;;http://evil\x07link\x1b]8;;\x07", "\x1b[31mred",
    "\x00", "9" * 5000, "-1", "1e400", "nan", "12.4\r", "", " ", "None", "[]", "{}", "../../x",
    "12.4; rm -rf ~", "\u202e", "\ufffd",
]
PLAUSIBLE_TEXT = ["12.4", "11.8", "2.4.1+cu121", "3.11.7", "cp311", "linux_x86_64", "8.6",
                  "9.0", "sm_90", "550.54.15", "2.35", "Linux", "x86_64", "NVIDIA H100",
                  "GPU-0123abcd", "0", "1", "True", "cuda", "2.8.0a0+5228986c39.nv25.06"]

texts = st.one_of(st.sampled_from(NASTY_TEXT), st.sampled_from(PLAUSIBLE_TEXT),
                  st.text(max_size=40),
                  st.text(alphabet=st.characters(whitelist_categories=("Nd", "No", "Cc")),
                          max_size=8))
numbers = st.one_of(st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
                    st.sampled_from([0, 1, -1, 2 ** 63, 10 ** 400]),
                    st.floats(allow_nan=True, allow_infinity=True), st.booleans())
scalars = st.one_of(st.none(), numbers, texts)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)), max_leaves=12)

# The fields of `check --json`'s environment, each given either a plausible value or junk.
SECTIONS: dict[str, tuple[str, ...]] = {
    "os": ("system", "distro", "kernel", "arch", "glibc", "glibcxx", "libstdcxx_path", "wsl",
           "container", "reasons"),
    "nvidia": ("driver_version", "cuda_driver_version", "gpus", "cuda_visible_devices",
               "sources", "reasons"),
    "cuda_toolkit": ("cuda_home", "nvcc_path", "nvcc_version", "reasons"),
    "python": ("executable", "version", "implementation", "abi_tag", "platform_tag",
               "pip_version", "is_venv", "conda_prefix", "externally_managed", "reasons"),
    "torch": ("installed", "version", "cuda", "hip", "cxx11abi", "cuda_available",
              "device_count", "capabilities", "arch_list", "error", "reasons"),
    "build_tools": ("host_compiler", "host_compiler_version", "host_compiler_kind", "cxx",
                    "cxx_version", "nvcc_gcc_min", "nvcc_gcc_max", "nvcc_gcc_source",
                    "cmake_version", "ninja_version", "reasons"),
}
GPU_FIELDS = ("index", "name", "compute_capability", "memory_mib", "uuid", "visible")


@st.composite
def env_documents(draw: Any) -> Any:
    """A `check --json`-like document, some fields junk, sometimes the whole thing junk."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    doc: dict[str, Any] = {}
    for section, fields in SECTIONS.items():
        if draw(st.booleans()):
            continue
        part: dict[str, Any] = {}
        for name in fields:
            if draw(st.integers(0, 2)) == 0:
                part[name] = draw(json_values if name != "gpus" else st.one_of(
                    json_values, st.lists(st.dictionaries(
                        st.sampled_from(GPU_FIELDS), json_values, max_size=6), max_size=3)))
        doc[section] = part
    if draw(st.booleans()):
        doc["packages"] = draw(st.one_of(json_values, st.dictionaries(
            texts, st.dictionaries(st.sampled_from(["version", "import_ok", "error", "name"]),
                                   json_values, max_size=3), max_size=3)))
    if draw(st.integers(0, 3)) == 0:
        doc = {"schema_version": "1", "data": {"environment": doc}}
    return doc


def dumps(doc: Any) -> str:
    return json.dumps(doc, allow_nan=True)
