"""diagnose/ownpackage.py: the missing module named by a folder of the traceback's own files."""

from __future__ import annotations

from mamba_doctor.diagnose.ownpackage import own_package_missing


def test_the_folder_is_found_with_or_without_a_download_suffix() -> None:
    for folder in (b"MambaCD", b"MambaCD-master", b"MambaCD-main", b"MambaCD_dev"):
        data = (b'  File "/codes/' + folder + b'/cd/train.py", line 10, in <module>\n'
                b"ModuleNotFoundError: No module named 'MambaCD'\n")
        found = own_package_missing(data)
        assert found is not None, folder
        assert found[0] == b"MambaCD" and found[1].startswith(b'File "/codes/' + folder)


def test_nothing_without_the_folder_or_outside_the_project() -> None:
    assert own_package_missing(b"No module named 'MambaCD'\n") is None  # no traceback path
    assert own_package_missing(b'File "/env/lib/python3.10/site-packages/MambaCD/x.py", line 1\n'
                               b"No module named 'MambaCD'\n") is None
    assert own_package_missing(b'File "/codes/MambaCDX/x.py", line 1\n'
                               b"No module named 'MambaCD'\n") is None  # another name
    assert own_package_missing(b'File "/home/me/src/mamba/x.py", line 1\n'
                               b"No module named 'src'\n") is None  # upstream 2.0.0's import
