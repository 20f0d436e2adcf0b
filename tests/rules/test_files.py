"""Finding and reading rule files: directories, globs, encodings, and merged diagnostics."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alertd.rules.files import check_paths, expand_paths, read_rule_files

GOOD = 'alert A {\n  when = up == 0\n  owner = "me"\n}\n'


def write(path: Path, text: str | bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return str(path)


def headlines(diags: object) -> list[str]:
    return [d.headline() for d in diags]  # type: ignore[attr-defined]


def test_single_file(tmp_path: Path) -> None:
    path = write(tmp_path / "a.rules", GOOD)
    files, diags = read_rule_files([path])
    assert diags == []
    assert [f.path for f in files] == [path]
    assert files[0].source == GOOD


def test_a_file_named_explicitly_need_not_end_in_rules(tmp_path: Path) -> None:
    path = write(tmp_path / "alerts.txt", GOOD)
    files, diags = read_rule_files([path])
    assert diags == [] and [f.path for f in files] == [path]


def test_directory_is_searched_recursively_and_sorted(tmp_path: Path) -> None:
    write(tmp_path / "b.rules", "alert B { when = up == 0 }\n")
    write(tmp_path / "a.rules", GOOD)
    write(tmp_path / "sub" / "deeper" / "c.rules", "alert C { when = up == 0 }\n")
    write(tmp_path / "notes.txt", "not rules")
    write(tmp_path / "d.rules.bak", "not rules either")
    (tmp_path / "dir.rules").mkdir()
    files, diags = read_rule_files([str(tmp_path)])
    assert diags == []
    assert [os.path.relpath(f.path, tmp_path) for f in files] == [
        "a.rules", "b.rules", os.path.join("sub", "deeper", "c.rules")
    ]


def test_glob(tmp_path: Path) -> None:
    write(tmp_path / "x" / "one.rules", "alert One { when = up == 0 }\n")
    write(tmp_path / "y" / "two.rules", "alert Two { when = up == 0 }\n")
    write(tmp_path / "y" / "three.yml", "x")
    files, diags = read_rule_files([str(tmp_path / "*" / "*.rules")])
    assert diags == []
    assert [Path(f.path).name for f in files] == ["one.rules", "two.rules"]
    files, _ = read_rule_files([str(tmp_path / "**" / "*.rules")])
    assert [Path(f.path).name for f in files] == ["one.rules", "two.rules"]


def test_a_file_named_twice_is_read_once(tmp_path: Path) -> None:
    path = write(tmp_path / "a.rules", GOOD)
    files, diags = read_rule_files([path, str(tmp_path), str(tmp_path / "*.rules")])
    assert diags == [] and len(files) == 1


def test_missing_paths_and_empty_directories(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.rules")
    empty = tmp_path / "empty"
    empty.mkdir()
    write(empty / "readme.md", "nothing here")
    pattern = str(tmp_path / "nothing-*.rules")
    files, diags = read_rule_files([missing, str(empty), pattern])
    assert files == []
    assert headlines(diags) == [
        f"{missing}:1:1: no such file or directory",
        f"{empty}:1:1: no .rules files found",
        f"{pattern}:1:1: no files match this pattern",
    ]


def test_invalid_utf8_is_reported_at_the_first_bad_byte(tmp_path: Path) -> None:
    data = "alert A {\n  summary = \"caf\u00e9 ".encode() + b"\xff\"\n}\n"
    bad = write(tmp_path / "bad.rules", data)
    good = write(tmp_path / "good.rules", GOOD)
    files, diags = read_rule_files([bad, good])
    assert [f.path for f in files] == [good]
    (diag,) = diags
    # The column counts characters, so "é" (two bytes) is one column.
    assert diag.headline() == f"{bad}:2:19: file is not valid UTF-8 (byte 0xff)"


def test_bom_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.rules", b"\xef\xbb\xbf" + b"alert A { when = rat(x[5m]) > 1 }\n")
    files, diags = read_rule_files([path])
    assert diags == []
    assert not files[0].source.startswith("\ufeff")
    result = check_paths([path])
    assert headlines(result.diagnostics) == [
        f'{path}:1:18: unknown function "rat" (did you mean "rate"?)'
    ]


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "secret.rules", GOOD)
    real_read = Path.read_bytes

    def denied(self: Path) -> bytes:
        if self.name == "secret.rules":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    # Tests run as root, which can read any file, so the failure is simulated.
    monkeypatch.setattr(Path, "read_bytes", denied)
    files, diags = read_rule_files([path])
    assert files == []
    assert headlines(diags) == [f"{path}:1:1: cannot read file: permission denied"]


def test_parse_diagnostics_are_collected(tmp_path: Path) -> None:
    path = write(tmp_path / "syntax.rules", "alert A { when = up == }\nalert B { when = up }\n")
    files, diags = read_rule_files([path])
    assert len(files) == 1
    assert [(d.span.line, d.span.column) for d in diags] == [(1, 24)]
    assert diags[0].message.startswith('unexpected "}"')


def test_check_paths_merges_and_sorts_every_diagnostic(tmp_path: Path) -> None:
    b = write(tmp_path / "b.rules", "alert B {\n  for = 1h30\n  when = up == 0\n}\n"
                                    "alert Dup { when = up == 0 }\n")
    a = write(tmp_path / "a.rules",
              "\nalert A { when = rat(x[5m]) > 1 }\nalert Dup { when = up }\n")
    missing = str(tmp_path / "zz-missing")
    result = check_paths([str(tmp_path), missing], require=frozenset({"owner"}))
    assert headlines(result.diagnostics) == [
        f'{a}:2:7: alert "A" has no owner (set owner in the alert or its group)',
        f'{a}:2:18: unknown function "rat" (did you mean "rate"?)',
        f'{a}:3:7: alert "Dup" has no owner (set owner in the alert or its group)',
        f'{b}:1:7: alert "B" has no owner (set owner in the alert or its group)',
        f'{b}:2:9: invalid duration "1h30": expected a number followed by a unit '
        "(ms, s, m, h, d, w, y)",
        f'{b}:5:7: alert "Dup" has no owner (set owner in the alert or its group)',
        f'{b}:5:7: duplicate alert "Dup" (first defined at {a}:3:7)',
        f"{missing}:1:1: no such file or directory",
    ]
    assert not result.ok


def test_check_paths_leaves_out_alerts_with_recovered_syntax_errors(tmp_path: Path) -> None:
    # The bad escape is reported by the parser, which still builds the alert.
    path = write(tmp_path / "esc.rules", 'alert A {\n  when = up == 0\n  summary = "a\\qb"\n}\n'
                                         "alert B { when = up == 0 }\n")
    result = check_paths([path])
    assert [d.message for d in result.diagnostics] == ['unknown escape sequence "\\q" in string']
    assert [a.name for g in result.groups for a in g.alerts] == ["B"]


def test_check_paths_on_a_clean_tree(tmp_path: Path) -> None:
    write(tmp_path / "team" / "latency.rules", GOOD)
    write(tmp_path / "team" / "errors.rules",
          'group errors {\n  owner = "team"\n  alert E { when = up and alert("A") }\n}\n')
    result = check_paths([str(tmp_path)], require=frozenset({"owner"}))
    assert result.ok and result.diagnostics == ()
    assert [(g.name, g.implicit, [a.name for a in g.alerts]) for g in result.groups] == [
        ("errors", False, ["E"]),
        ("latency", True, ["A"]),
    ]


def test_expand_paths_lists_files_once_with_problems_kept_apart(tmp_path: Path) -> None:
    a = write(tmp_path / "a.rules", GOOD)
    b = write(tmp_path / "sub" / "b.rules", GOOD)
    missing = str(tmp_path / "missing")
    files, problems = expand_paths([a, str(tmp_path), missing])
    assert files == [a, b]
    assert headlines(problems) == [f"{missing}:1:1: no such file or directory"]
