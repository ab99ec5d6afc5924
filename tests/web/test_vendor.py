"""web/vendor/ holds unmodified copies of published packages (scripts/vendor-web): each file is
listed in web/vendor/VERSIONS with its SHA-256, and nothing listed is missing."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "web" / "vendor"
LINE = re.compile(r"(?P<digest>[0-9a-f]{64}) [ *](?P<name>.+)")  # sha256sum's text/binary


def listed() -> dict[str, str]:
    """VERSIONS as {file name: SHA-256}: a comment line, then `sha256sum` output."""
    lines = (VENDOR / "VERSIONS").read_text().splitlines()
    assert lines, "VERSIONS is empty"
    assert lines[0].startswith("#"), "VERSIONS starts with a comment line"
    entries: dict[str, str] = {}
    for line in lines[1:]:
        if not line.strip():
            continue
        found = LINE.fullmatch(line)
        assert found, f"not a sha256sum line in VERSIONS: {line!r}"
        assert found["name"] not in entries, f"{found['name']} is listed twice"
        entries[found["name"]] = found["digest"]
    return entries


def present() -> set[str]:
    return {
        path.relative_to(VENDOR).as_posix()
        for path in VENDOR.rglob("*")
        if path.is_file() and path.name != "VERSIONS"
    }


def test_every_vendored_file_is_listed_and_nothing_listed_is_missing() -> None:
    entries, files = listed(), present()
    assert files - entries.keys() == set(), "in web/vendor/ but not in VERSIONS"
    assert entries.keys() - files == set(), "in VERSIONS but not in web/vendor/"


def test_vendored_files_match_their_sha256() -> None:
    wrong = {
        name: hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        for name, digest in listed().items()
        if (VENDOR / name).is_file()
        and hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() != digest
    }
    assert wrong == {}, "changed since scripts/vendor-web copied them (name: actual SHA-256)"
