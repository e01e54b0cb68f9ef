"""The DNS responder answers over UDP as an authoritative server would, following CNAMEs."""

from __future__ import annotations

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from snailtrail.sandbox.dns import DnsResponder

RECORDS = {
    "shine.sandbox.test": ("CNAME", ["shine-alb-1.us-east-1.elb.amazonaws.com"]),
    "shine-alb-1.us-east-1.elb.amazonaws.com": ("A", ["127.0.0.1"]),
}


def test_cname_chain_to_the_front_door_address() -> None:
    responder = DnsResponder(lambda: RECORDS)
    responder.start()
    try:
        host, port = responder.address
        answer = dns.query.udp(dns.message.make_query("shine.sandbox.test", "A"), host, port=port, timeout=2)
        kinds = [(r.name.to_text(), dns.rdatatype.to_text(r.rdtype), [x.to_text() for x in r]) for r in answer.answer]
        assert kinds == [
            ("shine.sandbox.test.", "CNAME", ["shine-alb-1.us-east-1.elb.amazonaws.com."]),
            ("shine-alb-1.us-east-1.elb.amazonaws.com.", "A", ["127.0.0.1"]),
        ]
        missing = dns.query.udp(dns.message.make_query("other.sandbox.test", "A"), host, port=port, timeout=2)
        assert missing.rcode() == dns.rcode.NXDOMAIN
    finally:
        responder.stop()


def test_records_come_from_route53(sandbox: object) -> None:
    from snailtrail.sandbox import moto_network

    records = moto_network.dns_records("127.0.0.1", "shine-alb")
    assert records["shine.sandbox.test"] == ("CNAME", ["shine-alb-1.us-east-1.elb.amazonaws.com"])
    assert records["shine-alb-1.us-east-1.elb.amazonaws.com"] == ("A", ["127.0.0.1"])
