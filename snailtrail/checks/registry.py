"""An image's config from its registry's v2 API (the sandbox's or any registry without a token).

Read through LiveView.registry_config, once per image and run: the image config and rollback readiness
checks both ask.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

NOT_IN_REGISTRY = "is not in the registry"


def registry_base_url(host: str) -> str:
    """https for every registry but the sandbox's on loopback, which serves plain http."""
    import ipaddress
    from urllib.parse import urlsplit

    name = urlsplit(f"//{host}").hostname or host
    try:
        loopback = name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        loopback = False
    return f"{'http' if loopback else 'https'}://{host}"


def registry_config(reference: str) -> tuple[dict[str, Any] | None, str | None]:
    """The image config of host/repo@digest from a registry's v2 API, or why it could not be read."""
    host, _, rest = reference.partition("/")
    repository, _, digest = rest.partition("@")
    accept = ", ".join(
        ["application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json"]
    )
    try:
        manifest_url = f"{registry_base_url(host)}/v2/{repository}/manifests/{digest}"
        request = urllib.request.Request(manifest_url, headers={"Accept": accept})  # noqa: S310 - http(s) only
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - http(s) only
            manifest = json.loads(answer.read())
        config_digest = manifest["config"]["digest"]
        blob = f"{registry_base_url(host)}/v2/{repository}/blobs/{config_digest}"
        with urllib.request.urlopen(blob, timeout=5) as answer:  # noqa: S310 - http(s) only
            return json.loads(answer.read()).get("config") or {}, None
    except urllib.error.HTTPError as exc:
        # The distribution API's error codes say "missing" even where the status is 401 (Docker Hub).
        body = exc.read(2000).decode(errors="replace")
        if exc.code == 404 or "MANIFEST_UNKNOWN" in body or "NAME_UNKNOWN" in body:
            return None, f"{reference} {NOT_IN_REGISTRY} (it answered {exc.code})"
        return None, f"the registry answered {exc.code} for {reference}"
    except (OSError, ValueError, KeyError) as exc:
        return None, f"the registry could not be read ({exc})"
