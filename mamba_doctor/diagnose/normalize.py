"""Undo what terminals, web pages and locales do to a log before it is matched.

Every pass is linear in the input: literal replacements, and regexes whose repetitions cannot
overlap (no nested or adjacent unbounded quantifiers), so a megabyte on one line costs the same
as a megabyte of short lines.
"""

from __future__ import annotations

import html
import re
from typing import Optional

from mamba_doctor.diagnose.vocabulary import SMALL_TEXT, Vocabulary

__all__ = ["LOCALE_MESSAGES", "normalize", "normalize_bytes", "normalize_scan", "strip_terminal"]

# ECMA-48 control sequences: CSI (colours, cursor moves), OSC (window titles "ESC ] 0 ;",
# hyperlinks "ESC ] 8 ;;"), DCS/PM/APC strings, and the two-byte escapes. An OSC or DCS without
# its terminator ends at the line end, so an unterminated one cannot swallow the rest of the log.
# The 8-bit forms are U+009B (CSI) and U+009D (OSC), "\xc2\x9b" and "\xc2\x9d" in UTF-8.
_TERMINAL = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]?"                      # CSI
    rb"|\x1b[\]PX^_][^\x07\x1b\n]*(?:\x07|\x1b\\)?"  # OSC, DCS, SOS, PM, APC
    rb"|\x1b[ -/]*[0-~]?"                             # other escapes
    rb"|\xc2\x9b[0-?]*[ -/]*[@-~]?"                   # 8-bit CSI
    rb"|\xc2\x9d[^\x07\n\xc2]*(?:\x07|\xc2\x9c)?"     # 8-bit OSC
)
# Remaining C0 controls except tab and newline (a bell, a backspace, a stray NUL), and the C1
# controls U+0080..U+009F.
_C0 = bytes(c for c in range(32) if c not in (9, 10)) + b"\x7f"
_C1 = re.compile(rb"\xc2[\x80-\x9f]")

# Markdown and forum damage.
# "> " quoting a reply. A literal "\n" first, not a MULTILINE "^": the regex engine then jumps
# from newline to newline instead of trying every byte; the text's first line is done apart.
_QUOTE = re.compile(rb"\n[ \t]*(?:>[ \t]?)+")
_QUOTE_FIRST = re.compile(rb"[ \t]*(?:>[ \t]?)+")
_MD_ESCAPE = re.compile(rb"\\([_*\[\]`#<>|~])")  # "selective\_scan\_cuda", "\[end of output\]"
# ... except a backslash that separates a Windows path: "C:\env\Lib\site-packages\torch\_inductor".
_MD_ESCAPE_IN_PATH = re.compile(rb"\\([*\[\]`#<>|~])")
_WINDOWS_PATH = re.compile(rb"(?<![A-Za-z])[A-Za-z]:\\[^\s\"'<>|]{1,4096}")
# An underscore eaten by italics: "undefined symbol: *ZNK3c10..." or "selective*scan*cuda".
# The star comes first, its context in look-arounds: the regex engine then jumps from star to star
# (a leading look-behind made it try every byte, 40 times slower).
_STAR_WORD = re.compile(
    rb"\*(?:(?<=[A-Za-z0-9]\*)(?=[A-Za-z0-9])|(?<![*\w]\*)(?=Z[A-Za-z]{0,3}\d))")
# ... or both underscores of "_ZN3c10..._" eaten: "undefined symbol: ZN3c104cuda9SetDeviceEi".
_BARE_SYMBOL = re.compile(rb"(?<=undefined symbol: )(?=Z[A-Za-z]{0,3}\d)")
_UNICODE_ESCAPE = re.compile(rb"\\u([0-9a-fA-F]{4})")  # a log pasted through JSON: "\u2502"
_ENTITY = re.compile(rb"&(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]{2,8});")  # "&gt;", "&#39;"

# The OS and compiler messages the knowledge base matches, as glibc 2.36, bash 5.2, binutils and
# GCC 12 print them in other locales (read from their message catalogs: libc.mo, bash.mo, ld.mo,
# gcc-12.mo). Each maps to the C-locale text.
LOCALE_MESSAGES: dict[str, str] = {
    # strerror(ENOENT)
    "没有那个文件或目录": "No such file or directory",
    "沒有此一檔案或目錄": "No such file or directory",
    "そのようなファイルやディレクトリはありません": "No such file or directory",
    "그런 파일이나 디렉터리가 없습니다": "No such file or directory",
    "Datei oder Verzeichnis nicht gefunden": "No such file or directory",
    "Aucun fichier ou dossier de ce type": "No such file or directory",
    "No existe el fichero o el directorio": "No such file or directory",
    "No existe el archivo o el directorio": "No such file or directory",
    "Нет такого файла или каталога": "No such file or directory",
    "Arquivo ou diretório inexistente": "No such file or directory",
    "Ficheiro ou pasta inexistente": "No such file or directory",
    "File o directory non esistente": "No such file or directory",
    "系统找不到指定的文件": "The system cannot find the file specified",  # Windows, WinError 2
    # dlerror() for a library that is not found
    "无法打开共享对象文件": "cannot open shared object file",
    "無法開啟共用物件": "cannot open shared object file",
    "共有オブジェクトファイルを開けません": "cannot open shared object file",
    "동적 오브젝트 파일을 열 수 없습니다": "cannot open shared object file",
    "Kann die Shared-Object-Datei nicht öffnen": "cannot open shared object file",
    "Ne peut ouvrir le fichier d'objet partagé": "cannot open shared object file",
    "no se puede abrir el fichero del objeto compartido": "cannot open shared object file",
    "невозможно открыть разделяемый объектный файл": "cannot open shared object file",
    "não é possível abrir arquivo compartilhado": "cannot open shared object file",
    "impossível abrir ficheiro-objecto partilhado": "cannot open shared object file",
    "impossibile aprire il file oggetto condiviso": "cannot open shared object file",
    # strerror(EACCES)
    "权限不够": "Permission denied",
    "拒絕不符權限的操作": "Permission denied",
    "許可がありません": "Permission denied",
    "허가 거부": "Permission denied",
    "Keine Berechtigung": "Permission denied",
    "Permission non accordée": "Permission denied",
    "Permiso denegado": "Permission denied",
    "Отказано в доступе": "Permission denied",
    "Permissão negada": "Permission denied",
    "Permissão recusada": "Permission denied",
    "Permesso negato": "Permission denied",
    # bash: "%s: command not found"
    "未找到命令": "command not found",
    "指令找不到": "command not found",
    "コマンドが見つかりません": "command not found",
    "명령어를 찾을 수 없음": "command not found",
    "Kommando nicht gefunden.": "command not found",
    "Kommando nicht gefunden": "command not found",
    "commande introuvable": "command not found",
    "orden no encontrada": "command not found",
    "команда не найдена": "command not found",
    "comando não encontrado": "command not found",
    "comando non trovato": "command not found",
    # Windows' own messages, as cmd.exe and LoadLibrary print them ("'x' is not recognized as an
    # internal or external command", ERROR_MOD_NOT_FOUND): written from Windows' localized
    # wording, not read from a message catalog like the entries above
    "不是内部或外部命令\uff0c也不是可运行的程序":
        "is not recognized as an internal or external command",
    "不是內部或外部命令、可執行的程式或批次檔":
        "is not recognized as an internal or external command",
    "找不到指定的模块": "The specified module could not be found",
    "找不到指定的模組": "The specified module could not be found",
    "指定されたモジュールが見つかりません": "The specified module could not be found",
    "지정된 모듈을 찾을 수 없습니다": "The specified module could not be found",
    "Das angegebene Modul wurde nicht gefunden": "The specified module could not be found",
    "Le module spécifié est introuvable": "The specified module could not be found",
    "No se puede encontrar el módulo especificado": "The specified module could not be found",
    "\u041d\u0435 найден указанный модуль": "The specified module could not be found",
    "Não foi possível encontrar o módulo especificado": "The specified module could not be found",
    # Python's own "No module named 'x'" has no translations; a post run through a translator
    # (browsers do it to a whole page) shows it in this wording, the name between its quotes
    "没有名为“": "No module named '",
    "没有名为\"": "No module named '",
    "没有名为'": "No module named '",
    "”的模块": "'",
    "\"的模块": "'",
    "'的模块": "'",
    # GCC diagnostics ("fatal error: x.h: No such file or directory")
    "致命错误\uff1a": "fatal error: ",
    "嚴重錯誤\uff1a": "fatal error: ",
    "致命的エラー: ": "fatal error: ",
    "schwerwiegender Fehler: ": "fatal error: ",
    "erreur fatale: ": "fatal error: ",
    "error fatal: ": "fatal error: ",
    "фатальная ошибка: ": "fatal error: ",
    # ld: "cannot find -lcuda"
    "找不到 -l": "cannot find -l",
    "no se puede encontrar -l": "cannot find -l",
    "невозможно найти -l": "cannot find -l",
    "não foi possível localizar -l": "cannot find -l",
    "ne peut pas trouver -l": "cannot find -l",
}
# Longest first, so that a message containing a shorter one is replaced whole.
_LOCALE_BYTES = tuple((k.encode(), LOCALE_MESSAGES[k].encode(), k.encode().lower())
                      for k in sorted(LOCALE_MESSAGES, key=len, reverse=True))
# Full-width punctuation of CJK locales, no-break spaces and curly quotes, as ASCII.
_PUNCTUATION = (("\uff1a", ": "), ("\uff0c", ", "), ("\uff08", " ("), ("\uff09", ") "),
                ("\u00a0", " "),
                ("\u3000", " "), ("\u2018", "'"), ("\u2019", "'"))
_PUNCTUATION_BYTES = tuple((w.encode(), n.encode()) for w, n in _PUNCTUATION)


def strip_terminal(text: str) -> str:
    """`text` without escape sequences or control characters: safe to echo to a terminal."""
    data = text.encode("utf-8", errors="replace")
    return _strip_terminal(data).decode("utf-8", errors="replace")


def normalize(text: str) -> str:
    """The text to match: escapes gone, line ends unified, web and locale damage undone."""
    return normalize_bytes(text.encode("utf-8", errors="replace")).decode("utf-8", "replace")


def _strip_terminal(data: bytes) -> bytes:
    if b"\x1b" in data or b"\xc2\x9b" in data or b"\xc2\x9d" in data:
        data = _TERMINAL.sub(b"", data)
    data = data.translate(None, _C0)  # bytes.translate: one fast pass, no regex
    return _C1.sub(b"", data) if b"\xc2" in data else data


def _md_unescape(data: bytes) -> bytes:
    """Markdown's escapes dropped, except an escaped-looking underscore inside a Windows path,
    where the backslash is the separator ("torch\\_inductor"): one pass finds the paths, and the
    text between them and the paths themselves are unescaped apart."""
    if b":\\" not in data:
        return _MD_ESCAPE.sub(rb"\1", data)
    out, last = [], 0
    for match in _WINDOWS_PATH.finditer(data):
        start, end = match.span()
        out.append(_MD_ESCAPE.sub(rb"\1", data[last:start]))
        out.append(_MD_ESCAPE_IN_PATH.sub(rb"\1", data[start:end]))
        last = end
    out.append(_MD_ESCAPE.sub(rb"\1", data[last:]))
    return b"".join(out)


def _entity(match: re.Match[bytes]) -> bytes:
    return html.unescape(match.group(0).decode("ascii")).encode("utf-8", errors="replace")


def _unicode(match: re.Match[bytes]) -> bytes:
    return chr(int(match.group(1), 16)).encode("utf-8", errors="replace")


def normalize_bytes(data: bytes) -> bytes:
    """`normalize` on UTF-8 bytes (what the scanner searches), without decoding the whole log."""
    return normalize_scan(data)[0]


def normalize_scan(data: bytes) -> tuple[bytes, Optional[Vocabulary]]:
    """`normalize_bytes`, and the vocabulary of the result when the locale pass needed one and
    replaced nothing (the scanner then need not build it again)."""
    if b"\r" in data:  # progress bars and Windows line ends
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    data = _strip_terminal(data)
    if b"&" in data:
        data = _ENTITY.sub(_entity, data)
    if b"\\u" in data:
        data = _UNICODE_ESCAPE.sub(_unicode, data)
    if b"\\n" in data and data.count(b"\n") < 3 and data.count(b"\\n") > 3:
        data = data.replace(b"\\n", b"\n")  # a whole log pasted as one escaped string
    if b">" in data:
        data = _QUOTE.sub(b"\n", data)
        first = _QUOTE_FIRST.match(data)
        data = data[first.end():] if first is not None else data
    if b"\\" in data and _MD_ESCAPE.search(data) is not None:
        data = _md_unescape(data)
    if b"*" in data:
        data = _STAR_WORD.sub(b"_", data)
    if b"undefined symbol: Z" in data:
        data = _BARE_SYMBOL.sub(b"_", data)
    ascii_only = data.isascii()
    # Each message looked for is a pass over the text; the vocabulary rules most out at once.
    vocab = Vocabulary(data.lower()) if len(data) > SMALL_TEXT else None
    replaced = False
    for local, english, lower in _LOCALE_BYTES:
        if (ascii_only and not local.isascii()) or (vocab is not None
                                                   and not vocab.may_hold(lower)):
            continue
        if local in data:
            data, replaced = data.replace(local, english), True
    for wide, narrow in () if ascii_only else _PUNCTUATION_BYTES:
        if wide in data:
            data, replaced = data.replace(wide, narrow), True
    return data, (None if replaced else vocab)
