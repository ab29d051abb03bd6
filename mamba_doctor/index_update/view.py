"""Human views of `index update` and `index status` (on a console they are given)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from rich.console import Console


def render_update(console: Console, data: Mapping[str, Any]) -> None:
    from rich.markup import escape

    where = data.get("imported_from")
    head = f"imported {escape(where)}" if where else \
        f"read the GitHub Releases and PyPI JSON APIs ({data.get('requests', 0)} requests)"
    console.print(f"[green]index updated[/]: {head}")
    for package, p in (data.get("packages") or {}).items():
        new = ", ".join(p["new_tags"]) or "none"
        github = (f"{p['releases']} releases, {p['wheel_assets']} wheel assets "
                  f"({p['with_sha256']} with sha256), new tags: {escape(new)}"
                  if p.get("github_fetched") else "GitHub not read")
        pypi = f"{p['pypi_versions']} PyPI versions" if p.get("pypi_fetched") else \
            "PyPI not read"
        console.print(f"  {package}: {github}; {pypi}")
    for failure in data.get("failed") or ():
        console.print(f"  [yellow]kept the previous record[/]: {escape(failure['message'])}")
    console.print(f"[dim]overlay: {escape(str(data.get('path')))}[/]")


def render_status(console: Console, data: Mapping[str, Any]) -> None:
    from rich.markup import escape

    console.print(escape(data["freshness"]["line"]))
    newest = ", ".join(f"{p} {t}" for p, t in data["newest"].items())
    console.print(f"  newest releases: {escape(newest)}")
    for package, stamps in (data.get("sources") or {}).items():
        text = ", ".join(f"{s} {v or 'not read'}" for s, v in stamps.items())
        console.print(f"  {package}: {escape(text)}")
    console.print(f"[dim]overlay: {escape(data['overlay_path'])}"
                  f"{'' if data.get('overlay_created') else ' (none yet)'}[/]")
