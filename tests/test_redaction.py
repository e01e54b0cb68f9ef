"""The one redaction layer: what looks like a secret is masked in text and in documents; what only
names or references a secret stays readable."""

from __future__ import annotations

import pytest

from snailtrail.redaction import redact, redact_value, secret_in_value

SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    "text, secret",
    [
        ("connecting to postgres://app:S3cr3tPass@db:5432/shine", "S3cr3tPass"),
        ("cloning https://ghtoken123@github.com/org/repo", "ghtoken123"),
        ("key AKIAIOSFODNN7EXAMPLE in use", "AKIAIOSFODNN7EXAMPLE"),
        (f"aws secret {SECRET_ACCESS_KEY} loaded", SECRET_ACCESS_KEY),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", "eyJhbGciOiJIUzI1NiJ9"),
        ("posting to https://hooks.slack.com/services/T0AAAA/B0BBBB/abcdefghijklmnopqrstuvwx", "B0BBBB"),
        ("posting to https://discord.com/api/webhooks/1234567890/a-b_c", "a-b_c"),
        ("posting to https://chat.example.com/hook/123e4567-e89b-12d3-a456-426614174000", "123e4567"),
        ("GET https://api.example.com/v1/items?limit=5&access_token=zzz-top", "zzz-top"),
        ("GET https://bucket.s3.amazonaws.com/m?X-Amz-Signature=f00dbabe", "f00dbabe"),
        ("DB_PASSWORD=hunter2 started", "hunter2"),
        ('{"api_key": "k-123456"}', "k-123456"),
        ("slack xoxb-123456789012-abcdefghijkl ready", "xoxb-123456789012"),
    ],
)
def test_a_secret_is_masked_wherever_it_appears_in_text(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked and "***" in masked
    assert secret_in_value(text) is not None  # the config refuses what the output masks


@pytest.mark.parametrize(
    "text",
    [
        "revision 0123456789abcdef0123456789abcdef01234567 deployed",  # a git revision
        "image shine@sha256:" + "ab" * 32,
        "API_TOKEN=arn:aws:ssm:us-east-1:123456789012:parameter/shine/token",  # a reference, not a value
        "arn:aws:ecs:us-east-1:123456789012:task-definition/shine:7",
        "http://127.0.0.1:4566/ answered 200",
        "AWS refused expired credentials: ExpiredToken: The security token included in the request is expired",
        "DRILL: ignoring PORT=8000, listening on 8080",
    ],
)
def test_what_only_names_or_references_a_secret_stays_readable(text: str) -> None:
    assert redact(text) == text


def test_a_document_is_masked_by_key_by_ecs_name_value_pair_and_by_shape() -> None:
    document = {
        "environment": [{"name": "DB_PASSWORD", "value": "hunter2"}, {"name": "PORT", "value": "8000"}],
        "secrets": {"API_TOKEN": "arn:aws:ssm:us-east-1:123456789012:parameter/t"},
        "db_password": "hunter2",
        "lines": ["postgres://app:hunter2@db"],
        "count": 3,
    }
    assert redact_value(document) == {
        "environment": [{"name": "DB_PASSWORD", "value": "***"}, {"name": "PORT", "value": "8000"}],
        "secrets": {"API_TOKEN": "arn:aws:ssm:us-east-1:123456789012:parameter/t"},
        "db_password": "***",
        "lines": ["postgres://***@db"],
        "count": 3,
    }
