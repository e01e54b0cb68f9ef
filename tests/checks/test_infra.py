"""Network checks on accounts shaped as real ones (in-process moto)."""

from __future__ import annotations

import ipaddress
from typing import Any

import boto3
import pytest

from snailtrail.checks.base import Status
from snailtrail.checks.infra import listener_forwards, network_path, public_ips, security_groups
from snailtrail.checks.view import LiveView
from tests.checks.conftest import running


def test_a_default_route_through_a_transit_gateway_is_a_private_path(
    view: LiveView, monkeypatch: pytest.MonkeyPatch
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.1.0/24")["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    gateway = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", TransitGatewayId=gateway)
    awsvpc = {"subnets": [subnet], "securityGroups": [], "assignPublicIp": "DISABLED"}
    monkeypatch.setattr(view, "service", lambda: {"networkConfiguration": {"awsvpcConfiguration": awsvpc}})

    result = network_path(view, None)

    assert result.status is Status.PASS, result.summary


def deployed_groups(sandbox) -> tuple[str, str, object]:
    """The task and load-balancer security groups of a deployed sandbox, and an EC2 client."""
    assert sandbox.deploy("phase-1", "fake.local/shine:phase-1-good").exit_code == 0
    ec2 = boto3.client("ec2", region_name="us-east-1")

    def group(name: str) -> str:
        return ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"][0][
            "GroupId"
        ]

    return group("shine-tasks"), group("shine-alb"), ec2


def replace_ingress(ec2, group_id: str, permission: dict) -> None:
    current = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"]
    if current:
        ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=current)
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[permission])


def security_groups_check(sandbox) -> dict:
    from tests.checks.test_verify import checks_by_name

    return checks_by_name(sandbox, "--only", "security groups")[1]["security groups"]


def test_tasks_admitting_a_cidr_that_covers_the_load_balancers_subnets_pass(sandbox) -> None:
    tasks, _, ec2 = deployed_groups(sandbox)
    replace_ingress(
        ec2, tasks, {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "IpRanges": [{"CidrIp": "10.42.0.0/16"}]}
    )
    check = security_groups_check(sandbox)
    assert check["status"] == "pass", check


def test_tasks_admitting_a_cidr_that_misses_a_load_balancer_subnet_fail(sandbox) -> None:
    tasks, _, ec2 = deployed_groups(sandbox)
    replace_ingress(
        ec2, tasks, {"IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "IpRanges": [{"CidrIp": "10.42.0.0/24"}]}
    )
    check = security_groups_check(sandbox)
    assert check["status"] == "fail" and "admit 10.42.0.0/24 on port 8000" in check["summary"]


def test_a_load_balancer_admitting_users_by_prefix_list_passes(sandbox) -> None:
    _, alb, ec2 = deployed_groups(sandbox)
    prefix_list = ec2.create_managed_prefix_list(
        PrefixListName="cloudfront-origin-facing",
        MaxEntries=5,
        AddressFamily="IPv4",
        Entries=[{"Cidr": "130.176.0.0/18"}],
    )["PrefixList"]["PrefixListId"]
    listener = sandbox_listener_port(sandbox)
    replace_ingress(
        ec2,
        alb,
        {
            "IpProtocol": "tcp",
            "FromPort": listener,
            "ToPort": listener,
            "PrefixListIds": [{"PrefixListId": prefix_list}],
        },
    )
    check = security_groups_check(sandbox)
    assert check["status"] == "pass", check


def test_a_load_balancer_admitting_users_over_ipv6_only_passes(sandbox) -> None:
    _, alb, ec2 = deployed_groups(sandbox)
    listener = sandbox_listener_port(sandbox)
    replace_ingress(
        ec2, alb, {"IpProtocol": "tcp", "FromPort": listener, "ToPort": listener, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
    )
    check = security_groups_check(sandbox)
    assert check["status"] == "pass", check


def sandbox_listener_port(sandbox) -> int:
    import yaml

    return yaml.safe_load(sandbox.config.read_text())["service"]["load_balancer"]["listener_port"]


def sandbox_view(sandbox) -> LiveView:
    from snailtrail.config.settings import load_settings
    from snailtrail.context import Context
    from snailtrail.ui import Reporter

    return LiveView(Context(load_settings(str(sandbox.config)), Reporter(quiet=True)))


def test_a_target_groups_nominal_port_other_than_the_containers_is_harmless(sandbox, monkeypatch) -> None:
    from snailtrail.checks.infra import port_alignment

    deployed_groups(sandbox)
    view = sandbox_view(sandbox)
    group = dict(view.target_group(), Port=80)  # ECS registers the container port whatever this says
    monkeypatch.setattr(view, "target_group", lambda: group)
    result = port_alignment(view, None)
    assert result.status is Status.PASS, result.summary
    assert "target group 80 (nominal) -> health check 8000" in result.summary


def test_traffic_forwarded_by_a_listener_rule_reaches_the_service(sandbox) -> None:
    """As the native design provisions it: the listener's default answers 404, its rule forwards."""
    from tests.checks.test_verify import checks_by_name

    deployed_groups(sandbox)
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    balancer = elbv2.describe_load_balancers(Names=["shine-alb"])["LoadBalancers"][0]
    port = sandbox_listener_port(sandbox)
    listener = next(
        x
        for x in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
        if x["Port"] == port
    )
    assert listener["DefaultActions"][0]["Type"] == "fixed-response"
    check = checks_by_name(sandbox, "--only", "listener forwards")[1]["listener forwards"]
    assert check["status"] == "pass", check


@pytest.fixture
def groups(view: LiveView, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A load balancer group open on the listener port (443) and a task group admitting it on 8000, as the
    sandbox provisions them; the service's tasks use the task group and map port 8000."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    ids = {
        name: ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        for name in ("alb", "task", "other")
    }
    ec2.authorize_security_group_ingress(
        GroupId=ids["alb"], IpPermissions=[tcp(443, IpRanges=[{"CidrIp": "0.0.0.0/0"}])]
    )
    awsvpc = {"subnets": [], "securityGroups": [ids["task"]], "assignPublicIp": "DISABLED"}
    monkeypatch.setattr(view, "service", lambda: {"networkConfiguration": {"awsvpcConfiguration": awsvpc}})
    monkeypatch.setattr(view, "load_balancer", lambda: {"SecurityGroups": [ids["alb"]]})
    running(view, monkeypatch, {"portMappings": [{"containerPort": 8000}]})
    return ids


def tcp(port: int, **sources: Any) -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **sources}


def admit(group: str, port: int, **sources: Any) -> None:
    boto3.client("ec2", region_name="us-east-1").authorize_security_group_ingress(
        GroupId=group, IpPermissions=[tcp(port, **sources)]
    )


def test_security_groups_pass_when_the_task_group_admits_the_load_balancer_on_the_task_port(
    view: LiveView, groups: dict[str, str]
) -> None:
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    result = security_groups(view, None)

    assert result.status is Status.PASS, result.summary
    assert result.summary == f"{groups['alb']} -> {groups['task']} on 8000; listener 443 open"


def test_security_groups_fail_when_the_task_port_admits_another_group_than_the_load_balancers(
    view: LiveView, groups: dict[str, str]
) -> None:
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["other"]}])

    result = security_groups(view, None)

    assert result.status is Status.FAIL
    assert f"admit {groups['other']} on port 8000, not the load balancer's {groups['alb']}" in result.summary
    assert result.fix == f"authorize ingress on {groups['task']}: tcp 8000 from {groups['alb']}"


def test_security_groups_fail_when_the_load_balancer_is_admitted_on_another_port_only(
    view: LiveView, groups: dict[str, str]
) -> None:
    admit(groups["task"], 8001, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    result = security_groups(view, None)

    assert result.status is Status.FAIL
    assert "admit nothing on port 8000" in result.summary


def test_security_groups_fail_when_the_load_balancer_group_admits_nothing_on_the_listener_port(
    view: LiveView, groups: dict[str, str]
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ec2.revoke_security_group_ingress(
        GroupId=groups["alb"], IpPermissions=[tcp(443, IpRanges=[{"CidrIp": "0.0.0.0/0"}])]
    )
    admit(groups["alb"], 8443, IpRanges=[{"CidrIp": "0.0.0.0/0"}])
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    result = security_groups(view, None)

    assert result.status is Status.FAIL
    assert result.summary == f"load balancer group(s) {groups['alb']} admit nothing on listener port 443"
    assert result.fix == "open the listener port on the load balancer's group"


def test_security_groups_fail_when_the_load_balancer_group_has_no_egress_to_the_task_port(
    view: LiveView, groups: dict[str, str]
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    everything = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ec2.revoke_security_group_egress(GroupId=groups["alb"], IpPermissions=[everything])
    ec2.authorize_security_group_egress(
        GroupId=groups["alb"], IpPermissions=[tcp(443, IpRanges=[{"CidrIp": "0.0.0.0/0"}])]
    )
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    result = security_groups(view, None)

    assert result.status is Status.FAIL
    assert result.summary == f"load balancer group {groups['alb']} has no egress to port 8000"


def test_security_groups_warn_when_the_task_port_is_also_open_to_the_internet(
    view: LiveView, groups: dict[str, str]
) -> None:
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}], IpRanges=[{"CidrIp": "0.0.0.0/0"}])

    result = security_groups(view, None)

    assert result.status is Status.WARN
    assert result.summary == "port 8000 of the tasks is open to 0.0.0.0/0"
    assert result.fix == f"admit only {groups['alb']} on port 8000"


def test_security_groups_pass_when_an_all_traffic_rule_admits_the_load_balancer(
    view: LiveView, groups: dict[str, str]
) -> None:
    boto3.client("ec2", region_name="us-east-1").authorize_security_group_ingress(
        GroupId=groups["task"], IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": groups["alb"]}]}]
    )

    assert security_groups(view, None).status is Status.PASS


def test_security_groups_fail_when_the_load_balancer_is_admitted_over_udp_only(
    view: LiveView, groups: dict[str, str]
) -> None:
    boto3.client("ec2", region_name="us-east-1").authorize_security_group_ingress(
        GroupId=groups["task"],
        IpPermissions=[
            {"IpProtocol": "udp", "FromPort": 8000, "ToPort": 8000, "UserIdGroupPairs": [{"GroupId": groups["alb"]}]}
        ],
    )

    result = security_groups(view, None)

    assert result.status is Status.FAIL and "admit nothing on port 8000" in result.summary


def test_security_groups_pass_when_a_port_range_holds_the_task_port(view: LiveView, groups: dict[str, str]) -> None:
    boto3.client("ec2", region_name="us-east-1").authorize_security_group_ingress(
        GroupId=groups["task"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 7000, "ToPort": 9000, "UserIdGroupPairs": [{"GroupId": groups["alb"]}]}
        ],
    )

    assert security_groups(view, None).status is Status.PASS


@pytest.fixture
def network(view: LiveView, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A VPC (with the main route table EC2 gives it, holding only the local route) and one subnet, unassociated,
    that the service's tasks use; set_public() chooses assignPublicIp."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.4.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.4.1.0/24")["Subnet"]["SubnetId"]
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    awsvpc: dict[str, Any] = {"subnets": [subnet], "securityGroups": [], "assignPublicIp": "DISABLED"}
    monkeypatch.setattr(view, "service", lambda: {"networkConfiguration": {"awsvpcConfiguration": awsvpc}})

    def set_public(enabled: bool) -> None:
        awsvpc["assignPublicIp"] = "ENABLED" if enabled else "DISABLED"

    return {
        "ec2": ec2,
        "vpc": vpc,
        "subnet": subnet,
        "main": tables[0]["RouteTableId"],
        "igw": gateway,
        "set_public": set_public,
    }


def own_table(network: dict[str, Any]) -> str:
    """A route table explicitly associated with the subnet, holding only the local route."""
    ec2 = network["ec2"]
    table = ec2.create_route_table(VpcId=network["vpc"])["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=network["subnet"])
    return table


def default_route(network: dict[str, Any], table: str, **target: str) -> None:
    network["ec2"].create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", **target)


def endpoints(network: dict[str, Any], *services: str) -> None:
    for service in services:
        network["ec2"].create_vpc_endpoint(VpcId=network["vpc"], ServiceName=f"com.amazonaws.us-east-1.{service}")


def test_public_tasks_on_a_subnet_without_its_own_table_reach_the_internet_through_the_main_table(
    view: LiveView, network: dict[str, Any]
) -> None:
    network["set_public"](True)
    default_route(network, network["main"], GatewayId=network["igw"])

    result = network_path(view, None)

    assert result.status is Status.PASS, result.summary
    assert result.summary == "1 subnet(s) route 0.0.0.0/0 to an internet gateway"


def test_public_tasks_fail_when_the_main_table_has_no_internet_route_and_the_subnet_is_named_on_it(
    view: LiveView, network: dict[str, Any]
) -> None:
    network["set_public"](True)

    result = network_path(view, None)

    assert result.status is Status.FAIL
    assert result.summary == f"{network['subnet']} (main table) routes 0.0.0.0/0 to nothing, not an internet gateway"
    assert result.fix == "associate the subnet with the route table whose 0.0.0.0/0 route targets the internet gateway"
    assert result.resources == [network["subnet"]]


def test_a_subnets_own_route_table_overrides_the_main_tables_internet_route(
    view: LiveView, network: dict[str, Any]
) -> None:
    network["set_public"](True)
    default_route(network, network["main"], GatewayId=network["igw"])
    table = own_table(network)

    result = network_path(view, None)

    assert result.status is Status.FAIL
    assert result.summary == (
        f"{network['subnet']} (explicit {table}) routes 0.0.0.0/0 to nothing, not an internet gateway"
    )


def test_public_tasks_fail_when_their_subnets_table_sends_the_internet_to_a_transit_gateway(
    view: LiveView, network: dict[str, Any]
) -> None:
    network["set_public"](True)
    table = own_table(network)
    gateway = network["ec2"].create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    default_route(network, table, TransitGatewayId=gateway)

    result = network_path(view, None)

    assert result.status is Status.FAIL
    assert f"routes 0.0.0.0/0 to {gateway}, not an internet gateway" in result.summary


@pytest.mark.parametrize("state", ["active", "blackhole"])
def test_a_blackhole_default_route_is_no_path_for_private_tasks(
    view: LiveView, network: dict[str, Any], monkeypatch: pytest.MonkeyPatch, state: str
) -> None:
    """A route whose target was deleted stays in the table as a blackhole (EC2 API reference, Route.State)."""
    table = own_table(network)
    gateway = network["ec2"].create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    default_route(network, table, TransitGatewayId=gateway)
    tables = view.route_tables(network["vpc"])
    for route in (r for t in tables for r in t["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"):
        route["State"] = state
    monkeypatch.setattr(view, "route_tables", lambda vpc_id: tables)

    result = network_path(view, None)

    if state == "active":
        assert result.status is Status.PASS, result.summary
    else:
        assert result.status is Status.FAIL
        assert result.summary == (
            f"{network['subnet']} (explicit {table}) has no NAT or transit route and lacks VPC endpoints for "
            "ecr.api, ecr.dkr, logs, s3"
        )
        assert result.fix == "add a NAT gateway route or VPC endpoints for ECR, S3 and CloudWatch Logs"


def test_private_tasks_behind_only_an_internet_gateway_fail_without_vpc_endpoints(
    view: LiveView, network: dict[str, Any]
) -> None:
    """Without public addresses an internet gateway carries nothing for the tasks: ECR and logs are out of reach."""
    default_route(network, network["main"], GatewayId=network["igw"])

    result = network_path(view, None)

    assert result.status is Status.FAIL
    assert "(main table) has no NAT or transit route and lacks VPC endpoints for" in result.summary


def test_private_tasks_without_a_default_route_pass_with_every_vpc_endpoint(
    view: LiveView, network: dict[str, Any]
) -> None:
    endpoints(network, "ecr.api", "ecr.dkr", "s3", "logs")

    result = network_path(view, None)

    assert result.status is Status.PASS, result.summary
    assert result.summary == "1 subnet(s) route 0.0.0.0/0 to a NAT or transit route, or VPC endpoints"


def test_private_tasks_without_a_default_route_name_the_vpc_endpoints_they_lack(
    view: LiveView, network: dict[str, Any]
) -> None:
    endpoints(network, "ecr.api", "s3")

    result = network_path(view, None)

    assert result.status is Status.FAIL
    assert result.summary.endswith("lacks VPC endpoints for ecr.dkr, logs")


def test_tasks_with_public_ips_warn_when_vpc_endpoints_would_serve_them_without(
    view: LiveView, network: dict[str, Any]
) -> None:
    network["set_public"](True)
    default_route(network, network["main"], GatewayId=network["igw"])
    endpoints(network, "ecr.api", "ecr.dkr", "s3", "logs")

    result = public_ips(view, None)

    assert result.status is Status.WARN
    assert result.summary == (
        f"tasks get public IPs although {network['subnet']} reach AWS through a NAT or transit route or VPC endpoints"
    )
    assert result.fix == "set assign_public_ip: false"


def test_tasks_with_public_ips_warn_when_a_transit_route_would_serve_them_without(
    view: LiveView, network: dict[str, Any]
) -> None:
    network["set_public"](True)
    gateway = network["ec2"].create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    default_route(network, own_table(network), TransitGatewayId=gateway)

    assert public_ips(view, None).status is Status.WARN


def test_tasks_whose_only_way_to_ecr_is_their_public_ip_pass_the_public_ips_check(
    view: LiveView, network: dict[str, Any]
) -> None:
    network["set_public"](True)
    default_route(network, network["main"], GatewayId=network["igw"])

    result = public_ips(view, None)

    assert result.status is Status.PASS, result.summary
    assert result.summary == "public IPs are the tasks' only way to ECR and logs (no NAT, no endpoints)"


def test_a_service_before_its_first_revision_is_checked_on_the_phases_port(
    view: LiveView, groups: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from snailtrail.config.phases import load_phases

    phase = load_phases(view.settings.phases_path)[0]
    assert phase.container.port == 8000
    monkeypatch.setattr(view, "running_revision", lambda: None)
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    assert security_groups(view, phase).summary.endswith(f"on {phase.container.port}; listener 443 open")
    assert security_groups(view, None).status is Status.SKIP  # no revision, no phase: no port to check


def test_a_revision_that_maps_no_port_is_checked_on_the_phases_port(
    view: LiveView, groups: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from snailtrail.config.phases import load_phases

    phase = load_phases(view.settings.phases_path)[0]
    running(view, monkeypatch, {"portMappings": []})
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    assert security_groups(view, phase).status is Status.PASS


def test_the_listener_check_fails_naming_the_load_balancer_that_does_not_exist(view: LiveView) -> None:
    name = view.settings.service.load_balancer.name

    result = listener_forwards(view, None)

    assert result.status is Status.FAIL
    assert result.summary == f"load balancer {name} not found"
    assert result.fix == "create it, or fix service.load_balancer.name"


@pytest.fixture
def balancer_subnets(view: LiveView, groups: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The load balancer sits in two dual-stack subnets of the groups' VPC (its nodes take addresses from them)."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.describe_security_groups(GroupIds=[groups["alb"]])["SecurityGroups"][0]["VpcId"]
    ec2.associate_vpc_cidr_block(VpcId=vpc, AmazonProvidedIpv6CidrBlock=True)
    ipv6 = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    ranges = list(ipaddress.ip_network(ipv6).subnets(new_prefix=64))
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.3.{n}.0/24", Ipv6CidrBlock=str(ranges[n]))["Subnet"] for n in (1, 2)
    ]
    balancer = {"SecurityGroups": [groups["alb"]], "AvailabilityZones": [{"SubnetId": s["SubnetId"]} for s in subnets]}
    monkeypatch.setattr(view, "load_balancer", lambda: balancer)
    return {"ipv4": [s["CidrBlock"] for s in subnets], "ipv6": ipv6, "subnets": subnets}


def test_tasks_admitting_an_ipv4_range_around_the_load_balancers_subnets_pass(
    view: LiveView, groups: dict[str, str], balancer_subnets: dict[str, Any]
) -> None:
    admit(groups["task"], 8000, IpRanges=[{"CidrIp": "10.3.0.0/16"}])

    assert security_groups(view, None).status is Status.PASS


def test_tasks_admitting_each_load_balancer_subnet_by_its_own_range_pass(
    view: LiveView, groups: dict[str, str], balancer_subnets: dict[str, Any]
) -> None:
    admit(groups["task"], 8000, IpRanges=[{"CidrIp": cidr} for cidr in balancer_subnets["ipv4"]])

    assert security_groups(view, None).status is Status.PASS


def test_tasks_admitting_one_of_the_load_balancers_two_subnets_fail(
    view: LiveView, groups: dict[str, str], balancer_subnets: dict[str, Any]
) -> None:
    admit(groups["task"], 8000, IpRanges=[{"CidrIp": "10.3.1.0/24"}])

    result = security_groups(view, None)

    assert result.status is Status.FAIL and "admit 10.3.1.0/24 on port 8000" in result.summary


def test_tasks_admitting_a_dual_stack_load_balancer_over_ipv6_pass(
    view: LiveView, groups: dict[str, str], balancer_subnets: dict[str, Any]
) -> None:
    admit(groups["task"], 8000, Ipv6Ranges=[{"CidrIpv6": balancer_subnets["ipv6"]}])

    assert security_groups(view, None).status is Status.PASS


def test_tasks_admitting_only_part_of_a_dual_stack_load_balancers_ipv6_ranges_fail(
    view: LiveView, groups: dict[str, str], balancer_subnets: dict[str, Any]
) -> None:
    first = balancer_subnets["subnets"][0]["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
    admit(groups["task"], 8000, Ipv6Ranges=[{"CidrIpv6": first}])

    assert security_groups(view, None).status is Status.FAIL


def test_tasks_admitting_the_load_balancer_by_a_rule_numbered_as_tcp_pass(
    view: LiveView, groups: dict[str, str]
) -> None:
    """IpProtocol may be given as a protocol number: 6 is tcp (EC2 API reference, IpPermission)."""
    boto3.client("ec2", region_name="us-east-1").authorize_security_group_ingress(
        GroupId=groups["task"],
        IpPermissions=[
            {"IpProtocol": "6", "FromPort": 8000, "ToPort": 8000, "UserIdGroupPairs": [{"GroupId": groups["alb"]}]}
        ],
    )

    assert security_groups(view, None).status is Status.PASS


def only_on_the_listener_port(group: str, **sources: Any) -> None:
    """The load balancer's group admits users on the listener port (443) from these sources alone."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=[tcp(443, IpRanges=[{"CidrIp": "0.0.0.0/0"}])])
    admit(group, 443, **sources)


def test_a_load_balancer_group_admitting_users_by_a_managed_prefix_list_passes(
    view: LiveView, groups: dict[str, str]
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    cloudfront = ec2.create_managed_prefix_list(
        PrefixListName="cloudfront-origin-facing",
        MaxEntries=5,
        AddressFamily="IPv4",
        Entries=[{"Cidr": "130.176.0.0/18"}],
    )["PrefixList"]["PrefixListId"]
    only_on_the_listener_port(groups["alb"], PrefixListIds=[{"PrefixListId": cloudfront}])
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    assert security_groups(view, None).status is Status.PASS


def test_a_load_balancer_group_admitting_users_over_ipv6_only_passes(view: LiveView, groups: dict[str, str]) -> None:
    only_on_the_listener_port(groups["alb"], Ipv6Ranges=[{"CidrIpv6": "::/0"}])
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    assert security_groups(view, None).status is Status.PASS


def test_tasks_open_to_the_whole_ipv6_internet_warn(view: LiveView, groups: dict[str, str]) -> None:
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}], Ipv6Ranges=[{"CidrIpv6": "::/0"}])

    result = security_groups(view, None)

    assert result.status is Status.WARN and result.summary == "port 8000 of the tasks is open to ::/0"


def test_security_groups_fail_when_a_port_range_ends_below_the_task_port(
    view: LiveView, groups: dict[str, str]
) -> None:
    boto3.client("ec2", region_name="us-east-1").authorize_security_group_ingress(
        GroupId=groups["task"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 7000, "ToPort": 7999, "UserIdGroupPairs": [{"GroupId": groups["alb"]}]}
        ],
    )

    assert security_groups(view, None).status is Status.FAIL


def test_tasks_admitting_another_group_and_a_range_around_the_load_balancer_pass(
    view: LiveView, groups: dict[str, str], balancer_subnets: dict[str, Any]
) -> None:
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["other"]}], IpRanges=[{"CidrIp": "10.3.0.0/16"}])

    assert security_groups(view, None).status is Status.PASS


def test_security_groups_pass_when_a_rule_for_another_port_comes_before_the_load_balancers(
    view: LiveView, groups: dict[str, str]
) -> None:
    admit(groups["task"], 9000, UserIdGroupPairs=[{"GroupId": groups["other"]}])
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    assert security_groups(view, None).status is Status.PASS


def test_security_groups_pass_when_two_rules_cover_the_task_port_and_one_admits_the_load_balancer(
    view: LiveView, groups: dict[str, str]
) -> None:
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}])
    boto3.client("ec2", region_name="us-east-1").authorize_security_group_ingress(
        GroupId=groups["task"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 7000, "ToPort": 9000, "UserIdGroupPairs": [{"GroupId": groups["other"]}]}
        ],
    )

    assert security_groups(view, None).status is Status.PASS


ALB_NAME = "shine-alb-1.us-east-1.elb.amazonaws.com"


@pytest.fixture
def dns_view(view: LiveView, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The load balancer, the domain's alias record in Route 53 (shine.sandbox.test, zone sandbox.test), and a DNS
    server on loopback whose records each test sets: an alias answers with the balancer's addresses directly."""
    from snailtrail.sandbox.dns import DnsResponder

    route53 = boto3.client("route53", region_name="us-east-1")
    zone = route53.create_hosted_zone(Name="sandbox.test", CallerReference="t")["HostedZone"]["Id"]
    alias = {"HostedZoneId": "Z35SXDOTRQ7X7K", "DNSName": f"dualstack.{ALB_NAME}.", "EvaluateTargetHealth": False}
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {"Name": "shine.sandbox.test", "Type": "A", "AliasTarget": alias},
                }
            ]
        },
    )
    balancer = {"DNSName": ALB_NAME, "LoadBalancerArn": "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/a/1"}
    monkeypatch.setattr(view, "load_balancer", lambda: balancer)
    records: dict[str, tuple[str, list[str]]] = {}
    server = DnsResponder(lambda: records)
    server.start()
    host, port = server.address
    view.dns_server = f"{host}:{port}"
    yield view, records
    server.stop()


def test_a_domain_whose_alias_answers_with_some_of_the_load_balancers_addresses_passes(dns_view: Any) -> None:
    """An ALB's name answers with a changing subset of its addresses: any overlap is the same load balancer."""
    from snailtrail.checks.infra import dns_ownership

    view, records = dns_view
    records["shine.sandbox.test"] = ("A", ["192.0.2.10"])
    records[ALB_NAME] = ("A", ["192.0.2.10", "192.0.2.11"])

    result = dns_ownership(view, None)

    assert result.status is Status.PASS, result.summary
    assert result.summary == f"shine.sandbox.test resolves to {ALB_NAME}, and Route 53 agrees"


def test_a_domain_whose_addresses_are_not_the_load_balancers_fails(dns_view: Any) -> None:
    from snailtrail.checks.infra import dns_ownership

    view, records = dns_view
    records["shine.sandbox.test"] = ("A", ["198.51.100.7"])
    records[ALB_NAME] = ("A", ["192.0.2.10"])

    result = dns_ownership(view, None)

    assert result.status is Status.FAIL
    assert result.summary == f"shine.sandbox.test resolves through shine.sandbox.test, which does not reach {ALB_NAME}"
    assert result.fix == f"point shine.sandbox.test (CNAME or alias) at {ALB_NAME} in zone sandbox.test"
