from __future__ import annotations

import pytest

from app.store.sqlscript import SqlScriptError, split_statements


def test_splits_on_semicolons_and_drops_empty_statements() -> None:
    script = "CREATE TABLE a (x INTEGER);\n\n;CREATE INDEX a_x ON a (x)"
    assert split_statements(script) == ["CREATE TABLE a (x INTEGER)", "CREATE INDEX a_x ON a (x)"]


def test_semicolons_inside_strings_and_identifiers_do_not_split() -> None:
    script = """INSERT INTO t VALUES ('a;b', 'it''s; here'); SELECT "odd;name" FROM t;"""
    assert split_statements(script) == [
        "INSERT INTO t VALUES ('a;b', 'it''s; here')",
        'SELECT "odd;name" FROM t',
    ]


def test_comments_are_removed_including_their_semicolons() -> None:
    script = "-- header; not a statement\nCREATE TABLE a (x INTEGER); /* x; y */\n-- trailing comment only\n"
    assert split_statements(script) == ["CREATE TABLE a (x INTEGER)"]


def test_comment_markers_inside_strings_are_text() -> None:
    assert split_statements("SELECT '--not a comment', '/*nor this*/';") == [
        "SELECT '--not a comment', '/*nor this*/'"
    ]


@pytest.mark.parametrize("script", ["SELECT 'open", 'SELECT "open', "SELECT 1 /* open"])
def test_unterminated_parts_are_errors(script: str) -> None:
    with pytest.raises(SqlScriptError):
        split_statements(script)
