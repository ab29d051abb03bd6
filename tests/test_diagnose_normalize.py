"""What terminals, web pages and locales do to a log is undone before matching."""

from __future__ import annotations

import pytest

from mamba_doctor.diagnose.engine import diagnose
from mamba_doctor.diagnose.normalize import LOCALE_MESSAGES, normalize, strip_terminal

# The messages as glibc 2.36 / bash 5.2 / GCC 12 print them (their .mo catalogs), per language:
# (No such file or directory, cannot open shared object file, Permission denied, command not found)
LOCALES = {
    "zh_CN": ("没有那个文件或目录", "无法打开共享对象文件", "权限不够", "未找到命令"),
    "zh_TW": ("沒有此一檔案或目錄", "無法開啟共用物件", "拒絕不符權限的操作", "指令找不到"),
    "ja": ("そのようなファイルやディレクトリはありません", "共有オブジェクトファイルを開けません",
           "許可がありません", "コマンドが見つかりません"),
    "ko": ("그런 파일이나 디렉터리가 없습니다", "동적 오브젝트 파일을 열 수 없습니다", "허가 거부",
           "명령어를 찾을 수 없음"),
    "de": ("Datei oder Verzeichnis nicht gefunden", "Kann die Shared-Object-Datei nicht öffnen",
           "Keine Berechtigung", "Kommando nicht gefunden."),
    "fr": ("Aucun fichier ou dossier de ce type", "Ne peut ouvrir le fichier d'objet partagé",
           "Permission non accordée", "commande introuvable"),
    "es": ("No existe el fichero o el directorio",
           "no se puede abrir el fichero del objeto compartido", "Permiso denegado",
           "orden no encontrada"),
    "ru": ("Нет такого файла или каталога", "невозможно открыть разделяемый объектный файл",
           "Отказано в доступе", "команда не найдена"),
    "pt_BR": ("Arquivo ou diretório inexistente", "não é possível abrir arquivo compartilhado",
              "Permissão negada", "comando não encontrado"),
}
ENGLISH = ("No such file or directory", "cannot open shared object file", "Permission denied",
           "command not found")


@pytest.mark.parametrize("lang", sorted(LOCALES))
def test_the_four_os_messages_in_each_locale(lang: str) -> None:
    for local, english in zip(LOCALES[lang], ENGLISH):
        assert LOCALE_MESSAGES.get(local) == english, (lang, local)
        assert english in normalize(f"x: {local}\n")


@pytest.mark.parametrize("lang", sorted(LOCALES))
def test_localised_errors_are_diagnosed(lang: str) -> None:
    enoent, dlerror = LOCALES[lang][0], LOCALES[lang][1]
    header = f"cc1plus: fatal error: cusparse.h: {enoent}\ncompilation terminated.\n"
    assert diagnose(header)[0].id == "cuda-dev-headers-missing"
    libc10 = f">>> import causal_conv1d_cuda\nImportError: libc10.so: {dlerror}: {enoent}\n"
    assert diagnose(libc10)[0].id == "extension-import-order-libc10"


def test_compiler_words_and_full_width_punctuation() -> None:
    assert normalize("cc1plus: 致命错误\uff1acuda_runtime.h\uff1a没有那个文件或目录") == \
        "cc1plus: fatal error: cuda_runtime.h: No such file or directory"
    for fatal in ("schwerwiegender Fehler: ", "erreur fatale: ", "error fatal: ",
                  "фатальная ошибка: ", "致命的エラー: "):
        assert "fatal error: x.h" in normalize(f"{fatal}x.h: y")
    assert "cannot find -lcuda" in normalize("/usr/bin/ld: 找不到 -lcuda")


def test_markdown_and_html_damage_is_undone() -> None:
    italics = ("ImportError: /env/lib/python3.10/site-packages/selective*scan*cuda.cpython-310-"
               "x86_64-linux-gnu.so: undefined symbol: *ZN3c104cuda9SetDeviceEi*")
    assert diagnose(italics)[0].id == "torch-version-mismatch-undefined-symbol"
    bare = "ImportError: selective_scan_cuda.so: undefined symbol: ZN3c104cuda9SetDeviceEi"
    assert "undefined symbol: _ZN3c10" in normalize(bare)
    escaped = r"TypeError: Mamba.\_\_init\_\_() got an unexpected keyword argument 'bimamba\_type'"
    assert diagnose(escaped)[0].id == "vendored-fork-api-mismatch"
    html = ("<pre>TypeError: Mamba.__init__() got an unexpected keyword argument "
            "&#39;bimamba_type&#39; &gt; &quot;x&quot;</pre>")
    assert diagnose(html)[0].id == "vendored-fork-api-mismatch"
    quoted = "> > ImportError: libc10.so: cannot open shared object file: No such file or directory"
    assert diagnose(quoted)[0].id == "extension-import-order-libc10"
    json_escaped = "Traceback (most recent call last):\\n" * 4 + \
        "ImportError: libc10.so: cannot open shared object file: No such file or directory\\n"
    assert normalize(json_escaped).count("\n") >= 4
    assert normalize("\\u2502 exit code: 1") == "│ exit code: 1"


def test_a_windows_paths_separator_is_not_a_markdown_escape() -> None:
    """In a Windows path, torch\\_inductor is a folder, not an escaped underscore; the same two
    characters outside a path still are one."""
    path = r'File "C:\env\Lib\site-packages\torchaudio\_extension\utils.py", line 56'
    assert normalize(path) == path
    assert normalize(r"selective\_scan\_cuda in C:\env\_x and \[end of output\]") == \
        r"selective_scan_cuda in C:\env\_x and [end of output]"
    assert normalize(r"d:\proj\\[x\] done") == r"d:\proj\[x] done"


def test_case_old_pip_wording_and_truncated_lines() -> None:
    windows = ('  File "c:\\users\\me\\anaconda3\\envs\\m\\lib\\site-packages\\mamba_ssm\\'
               '__init__.py", line 3\n'
               "ModuleNotFoundError: No module named 'selective_scan_cuda'\n")
    assert diagnose(windows)[0].id == "windows-native-unsupported"
    old_pip = ("  Preparing metadata (setup.py) ... error\n"
               "  \u00d7 python setup.py egg_info did not run successfully.\n"
               "      from wheel.bdist_wheel import bdist_wheel as _bdist_wheel\n"
               "  ModuleNotFoundError: No module named 'wheel'\n")
    assert diagnose(old_pip)[0].id == "build-isolation-missing-build-deps"
    cut = ("ImportError: /x/site-packages/selective_scan_cuda.cpython-39-x86_64-linux-gnu.so: "
           "undefined symbol: _ZN2at4_ops10zeros_like4callERKNS_6TensorESt8optionalIN3")
    assert diagnose(cut)[0].id == "torch-version-mismatch-undefined-symbol"
    libcudart = "ImportError: libcudart.so.11.0: cannot open shared object file: No such file"
    assert diagnose(libcudart)[0].id == "extension-cuda-major-mismatch"


def test_terminal_sequences_and_controls_are_stripped() -> None:
    raw = ("\x1b]0;title\x07\x1b[1;31mred\x1b[0m \x1b]8;;https://x.example/\x1b\\link\x1b]8;;"
           "\x1b\\ \x1b(B\x1b=\x07\x08\x00 \u009b2J\u009d0;t\u009c done\x1b]8;;unterminated\n")
    out = strip_terminal(raw)
    assert out == "red link   done\n"  # OSC 0 title, CSI, OSC 8 link, charset, 8-bit CSI/OSC
    assert not any((ord(c) < 32 and c not in "\t\n") or 0x7f <= ord(c) <= 0x9f for c in out)
