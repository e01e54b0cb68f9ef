"""What moto's CloudFormation lacks for the environment template, installed on its models.

One of the moto-bridging modules (moto_bridge.py lists them). CloudFormation itself:
- a stack's outputs are its template's Outputs once the change set that made its resources is executed
  (moto 5.2 computes them when the stack is first created, with no resources yet, and never again);
- a load balancer's CanonicalHostedZoneID attribute is the zone of its DNS name, which an alias record
  names (moto raises "not implemented"); AWS::ElasticLoadBalancingV2::LoadBalancer, Return values:
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-elasticloadbalancingv2-loadbalancer.html
- a VPC's EnableDnsSupport and EnableDnsHostnames, and a target group's TargetGroupAttributes (the
  deregistration delay), which moto's resources drop; AWS::EC2::VPC and
  AWS::ElasticLoadBalancingV2::TargetGroup, Properties;
- a RecordSet's name is stored fully qualified, with its final dot, as Route 53 stores every name (moto
  keeps the template's spelling, so a later UPSERT of the same record made a second one);
- a RouteTable keeps its Tags, and a SubnetRouteTableAssociation associates the subnet with the route
  table (moto records it apart, and DescribeRouteTables, and so the sandbox's task network, never sees it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from moto.cloudformation.models import ChangeSet
from moto.ec2.models import ec2_backends
from moto.ec2.models.route_tables import RouteTable
from moto.ec2.models.subnets import SubnetRouteTableAssociation
from moto.ec2.models.vpcs import VPC
from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup, elbv2_backends
from moto.route53.models import RecordSet

VPC_ATTRIBUTES = {"EnableDnsSupport": "enable_dns_support", "EnableDnsHostnames": "enable_dns_hostnames"}

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

    create_record = RecordSet.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def qualified_record(
        cls: type[RecordSet], name: str, json: Any, account_id: str, region_name: str, **kw: Any
    ) -> RecordSet:
        properties = dict(json["Properties"])
        properties["Name"] = properties["Name"].rstrip(".") + "."
        return create_record(cls, name, {**json, "Properties": properties}, account_id, region_name, **kw)

    ChangeSet.apply = apply_and_output  # type: ignore[method-assign]
    FakeLoadBalancer.get_cfn_attribute = with_hosted_zone  # type: ignore[method-assign]
    RecordSet.create_from_cloudformation_json = classmethod(qualified_record)  # type: ignore[method-assign,assignment]
    _then(VPC, _vpc_attributes)
    _then(FakeTargetGroup, _target_group_attributes)
    _then(RouteTable, _route_table_tags)
    _then(SubnetRouteTableAssociation, _associate)
    _installed = True


def _then(model: Any, finish: Callable[[Any, dict[str, Any], str, str], None]) -> None:
    """``model`` made by moto's CloudFormation as before, then ``finish``(resource, its properties, account,
    region) applies what moto drops of the properties and AWS applies."""
    create = model.create_from_cloudformation_json.__func__

    def created(cls: Any, name: str, json: Any, account_id: str, region_name: str, **kw: Any) -> Any:
        resource = create(cls, name, json, account_id, region_name, **kw)
        finish(resource, json["Properties"], account_id, region_name)
        return resource

    model.create_from_cloudformation_json = classmethod(created)


def _vpc_attributes(vpc: VPC, properties: dict[str, Any], account_id: str, region_name: str) -> None:
    for key, attribute in VPC_ATTRIBUTES.items():
        value = properties.get(key)
        if value is not None:
            setattr(vpc, attribute, str(value).lower() == "true")


def _target_group_attributes(
    group: FakeTargetGroup, properties: dict[str, Any], account_id: str, region_name: str
) -> None:
    attributes = {a["Key"]: str(a["Value"]) for a in properties.get("TargetGroupAttributes", [])}
    if attributes:
        elbv2_backends[account_id][region_name].modify_target_group_attributes(group.arn, attributes)


def _route_table_tags(table: RouteTable, properties: dict[str, Any], account_id: str, region_name: str) -> None:
    for tag in properties.get("Tags", []):
        table.add_tag(tag["Key"], tag["Value"])


def _associate(
    association: SubnetRouteTableAssociation, properties: dict[str, Any], account_id: str, region_name: str
) -> None:
    ec2_backends[account_id][region_name].associate_route_table(
        association.route_table_id, subnet_id=association.subnet_id
    )
