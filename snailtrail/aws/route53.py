"""The Route 53 reads verify makes: the public record of a domain name; nothing here decides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snailtrail.aws.session import AwsClients


def dns_name(name: str) -> str:
    """DNS names compare case-insensitively, with or without the root's trailing dot (RFC 4343)."""
    return name.rstrip(".").lower()


@dataclass(frozen=True)
class PublicRecord:
    """The public hosted zone of a name (None: there is none) and its record there (None: not found)."""

    zone_id: str | None
    record: dict[str, Any] | None = None


class Route53Api:
    def __init__(self, clients: AwsClients) -> None:
        self._route53 = clients.client("route53")

    def public_record(self, zone_name: str, record_name: str) -> PublicRecord:
        wanted = dns_name(zone_name)
        # A private zone of the same name answers only inside its VPCs: users resolve the public one.
        zones = [
            z
            for z in self._route53.list_hosted_zones_by_name(DNSName=zone_name)["HostedZones"]
            if dns_name(z["Name"]) == wanted and not (z.get("Config") or {}).get("PrivateZone")
        ]
        if not zones:
            return PublicRecord(None)
        records = self._route53.list_resource_record_sets(HostedZoneId=zones[0]["Id"], StartRecordName=record_name)[
            "ResourceRecordSets"
        ]
        found = next((r for r in records if dns_name(r["Name"]) == dns_name(record_name)), None)
        return PublicRecord(zones[0]["Id"], found)
