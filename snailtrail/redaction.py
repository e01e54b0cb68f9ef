"""One redaction layer for every way out: the terminal (ui.py), JSON documents and human results
(global_options.py), errors, the trail (trail.py) and webhooks (notifications.py).

It masks what looks like a secret wherever it appears, in text or in a document: a URL's userinfo,
capability URLs (Slack, Discord-style, a token or UUID in the path, a token in the query), AWS access
keys and secret keys, bearer tokens and a few well-known token formats, private keys, and the value of
any key whose name says it is a secret. A reference to a secret (an SSM or Secrets Manager ARN) is not
a secret and stays readable. The config refuses secret-looking values with the same rules
(``secret_in_value``, ``url_secret``), so what is refused and what is masked never disagree.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

MASK = "***"

# Names that say their value is a secret, which must never sit in a file checked into git.
SECRET_NAME_HINTS = ("SECRET", "PASSWORD", "TOKEN", "API_KEY", "PRIVATE_KEY", "CREDENTIAL")
# A query parameter with one of these names carries a credential (signed URLs, API keys, OAuth codes).
SECRET_QUERY_KEYS = frozenset(
    {"key", "sig", "signature", "code", "auth", "pass", "pwd", "x-amz-signature", "x-amz-credential"}
)
# Hosts whose every URL path is a capability: whoever knows it may post.
CAPABILITY_HOSTS = ("hooks.slack.com", "discord.com", "discordapp.com", "webhook.office.com")
# A path segment that is a token rather than a name a person chose: 20 or more letters and digits
# without a separator (Slack's), 40 or more with - and _ (Discord's), or a UUID.
TOKEN_SEGMENT = re.compile(
    r"^(?:[A-Za-z0-9]{20,}|[A-Za-z0-9_-]{40,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)
SECRET_REFERENCE = re.compile(r"^arn:aws[a-z-]*:(ssm|secretsmanager):")

URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>`]+")
QUERY_PAIR = re.compile(r"([?&;])([^=&#;]+)=([^&#;]*)")
KEY_VALUE = re.compile(
    r"(?i)(\b[\w.-]*(?:" + "|".join(SECRET_NAME_HINTS) + r")[\w.-]*)"  # a name that says secret
    r"([\"']?\s*[:=]\s*[\"']?)"  # = or :, quoted or not
    r"([^\s\"'`,;&)}\]<>]+)"  # its value
)
# Secrets by their own shape, wherever they appear.
SHAPES = (
    ("an AWS access key", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("a bearer token", re.compile(r"(?i)(?<=\bbearer )[A-Za-z0-9._~+/=-]{8,}|(?<=\bbasic )[A-Za-z0-9+/=]{8,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S)),
)
# An AWS secret access key: 40 characters of base64, mixed case (a git revision is lower-case hex).
SECRET_KEY = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")


# Secrets snailtrail itself handed out in this process (the temporary credentials a local task's containers
# get, task_credentials.py), masked wherever they appear whatever their shape: a session token has none.
_HANDED_OUT: set[str] = set()


def mask_everywhere(value: str) -> None:
    """From now on, ``value`` is masked in every text redact() sees (output, JSON, errors, the trail)."""
    if len(value) >= 8:  # shorter is no credential, and masking it would garble ordinary text
        _HANDED_OUT.add(value)


def looks_like_secret_name(name: str) -> bool:
    return any(hint in name.upper() for hint in SECRET_NAME_HINTS)


def _is_secret_key(candidate: str) -> bool:
    return (
        any(c.isupper() for c in candidate)
        and any(c.islower() for c in candidate)
        and any(c.isdigit() or c in "/+" for c in candidate)
    )


def url_secret(url: str) -> str | None:
    """What secret a URL carries (credentials, a capability path, a token in its query), or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "a URL that cannot be read"
    if "@" in parts.netloc:
        return "credentials (user:password@) in the URL"
    if host.endswith(CAPABILITY_HOSTS):
        return f"a webhook URL of {host}, which is itself the secret"
    if any(TOKEN_SEGMENT.match(segment) for segment in parts.path.split("/")):
        return "a token or UUID in the URL's path"
    if any(_secret_query_key(key) for _, key, _ in QUERY_PAIR.findall("?" + parts.query)):
        return "a token in the URL's query"
    return None


def _secret_query_key(key: str) -> bool:
    return looks_like_secret_name(key) or key.lower() in SECRET_QUERY_KEYS


def _mask_url(match: re.Match[str]) -> str:
    url = match.group(0)
    scheme, _, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = MASK + "@" + authority.rsplit("@", 1)[1]
    host = authority.rsplit("@", 1)[-1].split(":", 1)[0].lower()
    if host.endswith(CAPABILITY_HOSTS) and path:
        return f"{scheme}://{authority}/{MASK}"
    path, question, query = path.partition("?")
    path = "/".join(MASK if TOKEN_SEGMENT.match(segment) else segment for segment in path.split("/"))
    if query:
        query = QUERY_PAIR.sub(
            lambda pair: f"{pair[1]}{pair[2]}={MASK}" if _secret_query_key(pair[2]) else pair[0], "?" + query
        )[1:]
    return f"{scheme}://{authority}{slash}{path}{question}{query}"


def _mask_key_value(match: re.Match[str]) -> str:
    name, separator, value = match.groups()
    # A reference is not a secret; "credentials: ExpiredToken: ..." is a label in prose, not a value.
    if SECRET_REFERENCE.match(value) or value == MASK or value.endswith(":"):
        return match.group(0)
    return f"{name}{separator}{MASK}"


def redact(text: str) -> str:
    """The text with everything that looks like a secret masked."""
    if not text:
        return text
    for value in tuple(_HANDED_OUT):
        text = text.replace(value, MASK)
    text = URL.sub(_mask_url, text)
    text = KEY_VALUE.sub(_mask_key_value, text)
    for _, shape in SHAPES:
        text = shape.sub(MASK, text)
    return SECRET_KEY.sub(lambda m: MASK if _is_secret_key(m[0]) else m[0], text)


def redact_value(value: Any, key: str | None = None) -> Any:
    """A document (maps, lists, text) with its secrets masked: by shape, and under keys named like secrets
    (also ECS's ``{"name": "DB_PASSWORD", "value": ...}`` pairs)."""
    if isinstance(value, str):
        if key is not None and looks_like_secret_name(key) and not SECRET_REFERENCE.match(value):
            return MASK
        return redact(value)
    if isinstance(value, dict):
        name = value.get("name")
        secret_pair = isinstance(name, str) and "value" in value and looks_like_secret_name(name)
        return {
            k: (MASK if secret_pair and k == "value" else redact_value(v, k if isinstance(k, str) else None))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


def secret_in_value(value: str) -> str | None:
    """What kind of secret a configured value looks like (never the value itself), or None."""
    for url in URL.findall(value):
        found = url_secret(url)
        if found is not None:
            return found
    for kind, shape in SHAPES:
        if shape.search(value):
            return kind
    if any(_is_secret_key(m[0]) for m in SECRET_KEY.finditer(value)):
        return "an AWS secret access key"
    if KEY_VALUE.search(value):
        return "a value named like a secret"
    return None
