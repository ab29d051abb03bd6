"""The two consoles (stdout: the result, stderr: chatter and progress) and the rendering rule.

The rule, held here for every view: a command, URL or path is never wrapped or boxed. It is
printed whole on a line of its own (rich's soft wrap: the terminal may fold it on screen, but a
copy gives the one line back), after the table or panel that refers to it. `--plain` (automatic
when stdout is not a terminal) draws no boxes at all. A stream that cannot encode the text (an
ASCII locale, PYTHONIOENCODING=ascii) gets ASCII stand-ins instead of a UnicodeEncodeError.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import sys
import unicodedata
from typing import TYPE_CHECKING, Any, ContextManager, Optional, Sequence

if TYPE_CHECKING:  # rich is imported lazily to keep start-up fast
    from rich.console import Console, RenderableType
    from rich.table import Table

_PLAIN: Optional[bool] = None  # None: decide from stdout (plain unless it is a terminal)


def set_plain(value: Optional[bool]) -> None:
    global _PLAIN
    _PLAIN = value


def plain() -> bool:
    """No boxes: asked for with --plain, or stdout is not a terminal (a pipe, a file, a CI log)."""
    if _PLAIN is not None:
        return _PLAIN
    isatty = getattr(sys.stdout, "isatty", None)
    return not (isatty is not None and isatty())


def stdout_console() -> Console:
    return _console(stderr=False)


def stderr_console() -> Console:
    return _console(stderr=True)


def _console(*, stderr: bool) -> Console:
    from rich.console import Console

    # Not cached across CliRunner invocations: rich binds the stream at construction time when
    # `file` is given, so we let it resolve sys.stdout/sys.stderr itself each time.
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def progress_enabled(*, json_mode: bool) -> bool:
    """Progress bars only for a human watching a terminal."""
    return not json_mode and sys.stderr.isatty()


def status(text: str, *, json_mode: bool) -> ContextManager[object]:
    """A spinner on stderr while `text` runs, for a person at a terminal; nothing otherwise."""
    if not progress_enabled(json_mode=json_mode):
        return contextlib.nullcontext()
    return stderr_console().status(text)


# --- boxes (or none) -------------------------------------------------------------------------

def table(*, title: Optional[str] = None, show_header: bool = True, **kwargs: Any) -> Table:
    """A rich Table with a frame, or without one in plain mode."""
    from rich.table import Table

    if plain() and "box" not in kwargs:
        kwargs.update(box=None, pad_edge=False)
    return Table(title=title, title_justify="left", show_header=show_header, **kwargs)


def panel(body: RenderableType, *, title: str, style: str = "none") -> RenderableType:
    """A framed panel, or in plain mode its title on a line of its own above the body."""
    from rich.console import Group
    from rich.panel import Panel

    if plain():
        return Group(f"[bold]{title}[/]", body)
    return Panel(body, title=title, title_align="left", border_style=style, expand=False)


# --- commands, URLs and paths: whole lines ---------------------------------------------------

def print_whole(console: Console, text: str, *, indent: int = 0, style: str = "") -> None:
    """One line that rich never wraps nor crops (markup off: a path may hold `[b]`)."""
    from rich.text import Text

    console.print(Text(" " * indent + text, style=style), soft_wrap=True, highlight=False)


def print_labelled(console: Console, rows: Sequence[tuple[str, str]], *, indent: int = 2) -> None:
    """`label  value` lines, labels padded to one width, values whole (paths, URLs, digests)."""
    width = max((len(label) for label, _ in rows), default=0)
    for label, value in rows:
        print_whole(console, f"{label.ljust(width)}  {value}", indent=indent)


# A command in advice prose is `backticked`, or it follows the sentence's last ": ". It starts
# with a program (after optional VAR=value settings) or a path to one.
_PROGRAM = re.compile(
    r"""^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:sudo\s+\S+|
        mamba-doctor|pip3?|python3?(?:\.\d+)?|uv|conda|mamba|micromamba|apt(?:-get)?|dnf|yum
        |export|unset|echo|git|cd|nvidia-smi|nvcc|ldd|ls|ldconfig|module|source|srun|sbatch
        |wget|curl|docker|apptainer|singularity|rm|mkdir|ulimit|gcc|g\+\+|cmake|ninja
        |[~.$]?/\S+|'[^']*/[^']*'|"[^"]*/[^"]*")(?:\s|$)""",
    re.VERBOSE,
)
_TICKED = re.compile(r"`([^`\n]+)`")
# "...: <command>" up to the end, or to a sentence's end (". " or a final ".")
_AFTER_COLON = re.compile(r": (?P<cmd>(?:[^`:]|:(?!\s))+?)(?=\.\s|\.?$)")
# A path too long to survive a narrow table cell (short ones such as /proc/driver/nvidia/version
# are findings to read, not to copy).
_LONG_PATH = re.compile(r"(?<![\w`/])(?:~|/)[^\s,;()`'\"]{29,}")


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")


def looks_like_command(text: str) -> bool:
    """Starts with a program and reads like a shell line, not like prose that names a program
    ("gcc 12.2.0, nvcc 13.0 accepts ..."): no ", " / "; " / " (" outside quotes."""
    text = text.strip()
    if not _PROGRAM.match(text):
        return False
    bare = _QUOTED.sub("''", text)
    return not any(mark in bare for mark in (", ", "; ", " ("))


def split_commands(text: str) -> tuple[str, tuple[str, ...]]:
    """(prose, commands) of one line of advice: the `backticked` commands (kept in the prose,
    which reads better with them) and a command after the last ": " (cut from the prose, which
    then ends in ":"). A bare command is all command, no prose."""
    stripped = text.strip()
    main, sep, alt = stripped.partition("(or: ")  # "cmd   (or: other cmd)"
    if sep and alt.endswith(")") and looks_like_command(main) and looks_like_command(alt[:-1]):
        return "", (main.strip(), alt[:-1].strip())
    if looks_like_command(stripped) and "`" not in stripped and ". " not in stripped:
        return "", (stripped,)
    found = [m.group(1).strip() for m in _TICKED.finditer(stripped)
             if looks_like_command(m.group(1))]
    prose = stripped
    for m in reversed(list(_AFTER_COLON.finditer(stripped))):
        cmd = m.group("cmd").strip()
        if looks_like_command(cmd):  # cut from the prose: "(below)" marks where it stood
            end = m.end("cmd")
            rest = prose[end:]
            prose = prose[:m.start("cmd")].rstrip() + (" (below)" + rest if rest.strip(". ")
                                                       else "")
            found.append(cmd)
    if prose.endswith(": (below)"):
        prose = prose[: -len(" (below)")]
    found.sort(key=stripped.find)  # in the order the text gives them
    return prose, tuple(dict.fromkeys(found))


def print_items(console: Console, items: Sequence[str], *, bullet: Optional[str] = None,
                indent: int = 2) -> None:
    """Numbered (or bulleted) advice, its prose wrapping under itself and each command it holds
    whole on a line of its own below it. A long command is not repeated in the prose: there it
    reads "(below)", or "[k]" when there are several, and its line ends in "# [k]"."""
    from rich.markup import escape

    for i, item in enumerate(items, 1):
        mark = bullet or f"{i}."
        prose, commands = split_commands(item)
        if not prose:  # the item is a command: the mark, then the command whole; then others
            console.print(" " * indent + mark, end=" ", highlight=False)
            print_whole(console, commands[0], style="cyan")
            for other in commands[1:]:
                console.print(" " * (indent + len(mark) - 2) + "or:", end=" ", highlight=False)
                print_whole(console, other, style="cyan")
            continue
        long = [c for c in commands if len(c) > _SHORT and f"`{c}`" in prose]
        tags = {c: "(below)" if len(long) == 1 else f"[{k}]" for k, c in enumerate(long, 1)}
        for command, tag in tags.items():
            prose = prose.replace(f"`{command}`", tag, 1)
        console.print(_hanging([(" " * indent + mark, escape(prose))]))
        for command in commands:
            tag = tags.get(command, "(below)")
            suffix = f"  # {tag}" if tag != "(below)" else ""
            print_whole(console, command + suffix, indent=indent + len(mark) + 1, style="cyan")


_SHORT = 30  # characters: a command this short stays readable inside its sentence as well


class CommandRefs:
    """Commands cut out of table cells: the cell says `[n]`, and after the table each command
    follows whole under a `# [n] label` line (a shell comment, so the pair pastes cleanly)."""

    def __init__(self) -> None:
        self.commands: dict[str, list[str]] = {}  # command -> labels

    def cite(self, text: str, label: str, *, paths: bool = False) -> str:
        """`text` with its commands (and with `paths`, its long paths) replaced by [n], as rich
        markup."""
        from rich.markup import escape

        prose, commands = split_commands(text)
        if paths:
            commands = (*commands, *(m.group(0) for m in _LONG_PATH.finditer(prose)))
        if not commands:
            return escape(text)
        marks = [self.add(cmd, label) for cmd in commands]
        placed = escape(prose)
        for cmd, mark in zip(commands, marks):
            for form in (f"`{cmd}`", cmd):
                if escape(form) in placed:
                    placed = placed.replace(escape(form), mark, 1)
                    break
            else:
                placed = f"{placed} {mark}".strip()
        return placed

    def add(self, command: str, label: str) -> str:
        """Note `command` (under `label`) and return its mark, `[n]`, as rich markup."""
        labels = self.commands.setdefault(command, [])
        if label not in labels:
            labels.append(label)
        # "[1]" is no rich tag (tags start with a letter, # / or @), so it needs no escape
        return f"[{list(self.commands).index(command) + 1}]"

    def print(self, console: Console) -> None:
        for n, (cmd, labels) in enumerate(self.commands.items(), 1):
            print_whole(console, f"# [{n}] {', '.join(labels)}", style="dim")
            print_whole(console, cmd, style="cyan")


def hanging_list(items: Sequence[str], *, bullet: Optional[str] = None) -> Table:
    """Items (rich markup) as "  1. text" rows whose wrapped lines stay indented under the text,
    which a joined string cannot do. `bullet` replaces the numbers (e.g. "•")."""
    return _hanging([(f"  {bullet or f'{i}.'}", item) for i, item in enumerate(items, 1)])


def _hanging(rows: Sequence[tuple[str, str]]) -> Table:
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", no_wrap=True)
    grid.add_column()
    for mark, text in rows:
        grid.add_row(mark, text)
    return grid


# --- streams that cannot encode --------------------------------------------------------------

# The look-alikes are the point: each gets its ASCII stand-in.
_ASCII = {
    "→": "->", "←": "<-", "↔": "<->", "⇒": "=>", "·": ".", "×": "x", "–": "-", "—": "-",  # noqa: RUF001
    "−": "-", "…": "...", "≤": "<=", "≥": ">=", "≠": "!=", "≈": "~", "⊙": "*", "σ": "sigma",  # noqa: RUF001
    "Δ": "delta", "√": "sqrt", "ᵀ": "^T", "“": '"', "”": '"', "‘": "'", "’": "'", "•": "*",  # noqa: RUF001
    "✓": "ok", "✗": "x", "µ": "u", "μ": "u", "±": "+-", "²": "^2", "³": "^3", "⁻": "^-",
    "‖": "||", "⌈": "ceil(", "⌉": ")", "\u00a0": " ",
}
_ERRORS = "mamba_doctor_ascii"


def _ascii_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for ch in exc.object[exc.start:exc.end]:
        alt = _ASCII.get(ch)
        if alt is None:
            decomposed = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            alt = decomposed or "?"
        out.append(alt)
    return "".join(out), exc.end


def ascii_text(text: str) -> str:
    """`text` as the fallback writes it to a stream that takes only ASCII."""
    return text.encode("ascii", _ERRORS).decode("ascii")


codecs.register_error(_ERRORS, _ascii_fallback)


def fit_streams() -> None:
    """Give stdout and stderr ASCII stand-ins for what their encoding cannot write (→ as ->,
    · as .), instead of the UnicodeEncodeError a legacy locale or PYTHONIOENCODING=ascii raise."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            "→·×Δ⊙σ✓–".encode(encoding)  # noqa: RUF001
            continue
        except (UnicodeEncodeError, LookupError):
            pass
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors=_ERRORS)
