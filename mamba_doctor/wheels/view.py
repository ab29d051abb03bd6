"""Human view of resolutions (rich, on a console it is given) and the summary `check` shows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

from mamba_doctor.models import CheckResult, CheckStatus, Environment
from mamba_doctor.wheels.fit import REASON_ORDER
from mamba_doctor.wheels.resolve import Resolution

if TYPE_CHECKING:  # rich is imported lazily to keep start-up fast
    from rich.console import Console

    from mamba_doctor.wheels.index import WheelIndex

_OUTCOME = {
    "prebuilt": "finds the wheel",
    "wrong_prebuilt": "downloads a wheel that does not fit",
    "source_build": "404, then compiles from source",
    "aborts": "aborts",
    "unknown": "unknown",
    "no_sdist": "no matching distribution",
    "requires_python": "no matching distribution",
    "no_cuda_home": "aborts before guessing",
}


def summarize_for_check(env: Environment, *, index: Optional[WheelIndex] = None,
                        ) -> tuple[tuple[Resolution, ...], CheckResult]:
    """Resolve both packages for `check`: the resolutions and one verdict row ("wheels").

    Never raises for "nothing fits": that is a non-blocking FAIL row whose hint is the best
    alternative (a source build still works without a prebuilt wheel).
    """
    from mamba_doctor.wheels.index import load_index
    from mamba_doctor.wheels.resolve import resolve_pair

    resolutions = resolve_pair(env, index or load_index())
    missing = [r for r in resolutions if r.wheel is None]
    if not missing:
        names = ", ".join(f"{r.package} {r.version}" for r in resolutions)
        status = CheckStatus.OK if all(r.exact for r in resolutions) else CheckStatus.WARN
        suffix = "" if status is CheckStatus.OK else " (some facts unchecked)"
        return resolutions, CheckResult("wheels", status, f"prebuilt wheels fit: {names}{suffix}",
                                        blocking=False, problem="mamba")
    first = missing[0]
    why = first.why_none()
    return resolutions, CheckResult("wheels", CheckStatus.FAIL, _missing_summary(missing, why),
                                    blocking=False, problem="mamba")


def _missing_summary(missing: Sequence[Resolution], why: str) -> str:
    """"no mamba_ssm (nor causal_conv1d) wheel fits X", without saying "no ... wheel" twice
    when the reason already starts that way."""
    first, others = missing[0].package, [r.package for r in missing[1:]]
    name = f"{first} (nor {', '.join(others)})" if others else first
    if why.startswith(f"no {first} wheel"):
        return why.replace(f"no {first} wheel", f"no {name} wheel", 1)
    return f"no prebuilt {name} wheel fits: {why}"


def render_resolutions(console: Console, resolutions: Sequence[Resolution], *,
                       dry_run: bool = True, ways: Optional[Mapping[str, Sequence[Any]]] = None
                       ) -> None:
    """One panel per package (the release, why the others were rejected, the ways out), then
    what is copied from it whole under it: the wheel's file name, URL and sha256, and each way
    out's commands (mamba_doctor/ui.py's rendering rule). `ways`: per package, the advice
    engine's phrasing of its alternatives."""
    from rich.markup import escape
    from rich.table import Table

    from mamba_doctor.ui import CommandRefs, panel, print_labelled
    from mamba_doctor.wheels.index import ORIGIN_TEXT

    for res in resolutions:
        refs = CommandRefs()
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        w = res.wheel
        whole: list[tuple[str, str]] = []
        if w is not None:
            whole = [("wheel", w.filename), ("url", w.url),
                     ("sha256", w.sha256 or "not published (checked as a wheel: its RECORD)")]
            seen = f"{ORIGIN_TEXT.get(w.origin, w.origin)}" + (f", {w.as_of[:10]}" if w.as_of
                                                               else "")
            grid.add_row("release", escape(f"{w.tag} ({w.status}, {w.source}; {seen})"))
            if w.arches:
                grid.add_row("GPU kernels", " ".join(f"sm_{a}" for a in w.arches))
        summary = ", ".join(f"{code} {n}" for code, n in res.reason_counts().items())
        if res.considered:
            grid.add_row("rejected", f"{len({r.filename for r in res.rejected})} of "
                         f"{res.considered} wheels in {escape(', '.join(res.tags))}"
                         + (f"; reasons: {summary}" if summary else ""))
        for code in REASON_ORDER if w is None else ():
            example = next((r for r in res.rejected if r.code == code), None)
            if example is not None:
                grid.add_row(f"  {code}", escape(example.message))
        for note in res.notes:
            grid.add_row("note", escape(note))
        if res.unchecked:
            grid.add_row("unchecked", escape("; ".join(res.unchecked)))
        if res.guess is not None:
            g = res.guess
            what = f"pip install {res.package.replace('_', '-')}=={g.pypi_version}"
            grid.add_row("setup.py guess", refs.cite(
                f"what `{what}` would do: {_OUTCOME.get(g.outcome, g.outcome)}: "
                f"{g.explanation}", "setup.py guess"))
            if g.url and (w is None or g.url != w.url):
                whole.append(("guessed url", g.url))
            elif g.url:
                grid.add_row("guessed url", "the url below")
        for i, way in enumerate((ways or {}).get(res.package, res.alternatives), 1):
            marks = " ".join(refs.add(cmd, f"way out {i}")
                             for cmd in getattr(way, "commands", ()))
            grid.add_row(f"way out {i}", refs.cite(way.summary, f"way out {i}")
                         + (f" {marks}" if marks else ""))
            for note in getattr(way, "notes", ()):
                grid.add_row("", refs.cite(note, f"way out {i}"))
        if w is not None:
            title = f"[green]{escape(res.package)} {escape(str(res.version))}[/]" + (
                "" if res.exact else " (best guess)")
        else:
            title = f"[red]{escape(res.package)}: no compatible wheel[/]"
        console.print(panel(grid, title=title, style="green" if w is not None else "red"))
        if whole:
            print_labelled(console, whole)
        refs.print(console)
        console.print()
    if dry_run and all(r.wheel is not None for r in resolutions):
        console.print("dry run: nothing downloaded")
