"""Passwords in URIs never reach a message."""

from __future__ import annotations

import pytest

from likecast.redact import one_line, redact, redact_text


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("http://admin:S3cret@127.0.0.1:1/", "http://admin:***@127.0.0.1:1/"),
        ("postgresql://u:p%40ss@db:5432/mlflow", "postgresql://u:***@db:5432/mlflow"),
        ("https://token@host/", "https://token@host/"),  # no password: nothing to hide
        ("sqlite:////tmp/mlflow.db", "sqlite:////tmp/mlflow.db"),
    ],
)
def test_redact_masks_only_the_password(uri: str, shown: str) -> None:
    # given a URI, when it is redacted, then only its password is masked
    assert redact(uri) == shown


def test_messages_quoting_a_uri_are_masked_and_one_line() -> None:
    # given an error quoting a URI with a password over several lines
    error = RuntimeError("cannot reach\nmysql+pymysql://root:hunter2@db/x [retry]")
    # when it is made a CLI line, then the password is gone and markup is escaped
    line = one_line(error)
    assert "hunter2" not in line
    assert "\n" not in line
    assert "root:***@db" in line
    assert r"\[retry]" in line
    assert "hunter2" not in redact_text("see http://a:hunter2@h and ftp://b:hunter2@g")
