"""What moto's CloudFormation lacks for the environment template, installed on its models.

One of the moto-bridging modules (moto_bridge.py lists them). CloudFormation itself:
- a stack's outputs are its template's Outputs once the change set that made its resources is executed
  (moto 5.2 computes them when the stack is first created, with no resources yet, and never again);
- a load balancer's CanonicalHostedZoneID attribute is the zone of its DNS name, which an alias record
  names (moto raises "not implemented"); AWS::ElasticLoadBalancingV2::LoadBalancer, Return values:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-loadbalancer.html
"""

from __future__ import annotations

import functools
from typing import Any

from moto.cloudformation.models import ChangeSet
from moto.elbv2.models import FakeLoadBalancer

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    apply = ChangeSet.apply

    @functools.wraps(apply)
    def apply_and_output(self: ChangeSet) -> None:
        apply(self)
        self.stack.template = self.template
        self.stack._parse_template()
        self.stack.output_map = self.stack._create_output_map()

    attribute = FakeLoadBalancer.get_cfn_attribute

    @functools.wraps(attribute)
    def with_hosted_zone(self: FakeLoadBalancer, name: str) -> Any:
        return self.canonical_hosted_zone_id if name == "CanonicalHostedZoneID" else attribute(self, name)

    ChangeSet.apply = apply_and_output  # type: ignore[method-assign]
    FakeLoadBalancer.get_cfn_attribute = with_hosted_zone  # type: ignore[method-assign]
    _installed = True
