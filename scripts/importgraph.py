"""The import graph of a package: modules, arrows, levels, circles, and imports that run back up
the stages. Imports inside functions count (they are arrows all the same).

    python3 scripts/importgraph.py [PACKAGE_DIR]      # default: mamba_doctor
    python3 scripts/importgraph.py --list             # also print every arrow and each level

Levels: a module that imports none of the package's own modules is level 1, any other one level
above the highest it imports (the modules of a circle share a level); "levels" is the highest.
Stages (STAGES, low to high): an arrow from a module to one of a higher stage is reported as
running back up; modules directly in the package root are the shared basics (stage 0), except
the entry points (cli, __main__), which sit at the top.
Exit status: 1 when there is a circle or an upward import, else 0. Standard library only.
"""

# ruff: noqa: T201  # a tool that reports on stdout
from __future__ import annotations

import ast
import sys
from pathlib import Path

STAGES = ("knowledge", "probe", "wheels", "advice", "diagnose", "check", "download",
          "index_update", "install", "block", "smoke", "fleet", "bundle", "plan", "commands")
ENTRY_POINTS = ("cli", "__main__", "__init__")


def modules(root: Path) -> dict[str, Path]:
    base = root.parent
    out = {}
    for path in sorted(root.rglob("*.py")):
        name = ".".join(path.relative_to(base).with_suffix("").parts)
        out[name[: -len(".__init__")] if name.endswith(".__init__") else name] = path
    return out


def arrows(mods: dict[str, Path]) -> set[tuple[str, str]]:
    package = next(iter(mods)).split(".")[0]
    out: set[tuple[str, str]] = set()
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                here = name.split(".") if is_pkg else name.split(".")[:-1]
                if node.level:
                    here = here[: len(here) - node.level + 1]
                    source = ".".join([*here, node.module] if node.module else here)
                else:
                    source = node.module or ""
                subs = [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in mods]
                # `from pkg import submodule` depends on the submodule, not on pkg's __init__
                targets = subs + ([source] if len(subs) < len(node.names) else [])
            else:
                continue
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != name and target.startswith(package):
                    out.add((name, target))
    return out


def circles(mods: dict[str, Path], edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan, iterative)."""
    graph: dict[str, list[str]] = {m: [] for m in mods}
    for a, b in edges:
        graph[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for start in mods:
        if start in index:
            continue
        work = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        top = stack.pop()
                        on.discard(top)
                        group.append(top)
                        if top == node:
                            break
                    if len(group) > 1:
                        out.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on.add(child)
                work.append((child, iter(graph[child])))
            elif child in on:
                low[node] = min(low[node], index[child])
    return out


def levels(mods: dict[str, Path], edges: set[tuple[str, str]],
           groups: list[list[str]]) -> dict[str, int]:
    rep = {m: m for m in mods}
    for group in groups:
        for m in group:
            rep[m] = group[0]
    deps: dict[str, set[str]] = {rep[m]: set() for m in mods}
    for a, b in edges:
        if rep[a] != rep[b]:
            deps[rep[a]].add(rep[b])
    memo: dict[str, int] = {}

    def level(node: str) -> int:
        if node not in memo:
            memo[node] = 0  # guards a circle the condensation missed
            memo[node] = 1 + max((level(d) for d in deps[node]), default=0)
        return memo[node]

    return {m: level(rep[m]) for m in mods}


def stage(name: str, mods: dict[str, Path]) -> float:
    parts = name.split(".")
    if len(parts) == 1:
        return 0  # the package's __init__: its version and lazy (string) re-exports
    if len(parts) == 2 and mods[name].name != "__init__.py":  # a root module
        return len(STAGES) + 1 if parts[1] in ENTRY_POINTS else 0
    return STAGES.index(parts[1]) + 1 if parts[1] in STAGES else 0.5


def main(argv: list[str]) -> int:
    show = "--list" in argv
    args = [a for a in argv if a != "--list"]
    root = Path(args[0] if args else Path(__file__).resolve().parent.parent / "mamba_doctor")
    mods = modules(root.resolve())
    edges = arrows(mods)
    groups = circles(mods, edges)
    level = levels(mods, edges, groups)
    upward = sorted((a, b) for a, b in edges if stage(b, mods) > stage(a, mods))
    flat = [m for m in mods if m.count(".") == 1 and mods[m].name != "__init__.py"]
    print(f"modules {len(mods)} (root {len(flat)}); arrows {len(edges)}; "
          f"levels {max(level.values(), default=0)}; circles {len(groups)}; "
          f"upward {len(upward)}")
    for group in groups:
        print("  circle:", " ".join(group))
    for a, b in upward:
        print(f"  upward: {a} -> {b}")
    if show:
        for m in sorted(mods, key=lambda m: (level[m], m)):
            print(f"  level {level[m]:2d}  {m}")
        for a, b in sorted(edges):
            print(f"  {a} -> {b}")
    return 1 if groups or upward else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
