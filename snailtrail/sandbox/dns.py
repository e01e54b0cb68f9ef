"""A DNS responder on loopback serving the Route 53 zones, so DNS checks use the real protocol.

Records come from the control plane at query time. The load balancer's name (which moto makes
NAME-1.REGION.elb.amazonaws.com) resolves to the front door's address, as a real ALB name resolves
to the ALB's addresses.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Records = Callable[[], dict[str, tuple[str, list[str]]]]  # name -> (type, values)


class DnsResponder:
    def __init__(self, records: Records, host: str = "127.0.0.1", port: int = 0) -> None:
        self._records = records
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind((host, port))
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._socket.getsockname()[:2]
        return host, port

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="dns", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._socket.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                wire, client = self._socket.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            try:
                self._socket.sendto(self.answer(wire), client)
            except Exception:  # noqa: BLE001, S112 - a malformed query must not stop the responder
                continue

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        records = {k.lower().rstrip("."): v for k, v in self._records().items()}
        question = query.question[0]
        name = question.name.to_text().lower().rstrip(".")
        found = False
        # Follow CNAMEs inside our own data, as an authoritative server for all zones would.
        for _ in range(8):
            if name not in records:
                break
            kind, values = records[name]
            if kind == "CNAME" and question.rdtype != dns.rdatatype.CNAME:
                response.answer.append(dns.rrset.from_text(name + ".", 60, "IN", "CNAME", values[0].rstrip(".") + "."))
                name = values[0].lower().rstrip(".")
                found = True
                continue
            if dns.rdatatype.to_text(question.rdtype) == kind:
                response.answer.append(dns.rrset.from_text(name + ".", 60, "IN", kind, *values))
            found = True
            break
        if not found:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()
