"""The network view: which load-balancer packets the security groups pass, which subnets reach a registry."""

from __future__ import annotations

from snailtrail.sandbox.network import Balancer, Group, NetworkState, NetworkView, RouteTable, Rule, Subnet

ALB_GROUP, TASK_GROUP = "sg-alb", "sg-task"


def view(
    task_ingress: list[Rule],
    alb_egress: list[Rule] | None = None,
    tables: list[RouteTable] | None = None,
    endpoints: set[str] | None = None,
) -> NetworkView:
    everything = [Rule("-1", None, None, cidr="0.0.0.0/0")]
    return NetworkView(
        NetworkState(
            groups={
                ALB_GROUP: Group([], everything if alb_egress is None else alb_egress),
                TASK_GROUP: Group(task_ingress, everything),
            },
            subnets={"subnet-a": Subnet("vpc-1", "10.42.0.0/24"), "subnet-b": Subnet("vpc-1", "10.42.1.0/24")},
            tables=tables or [],
            endpoints={"vpc-1": endpoints or set()},
            balancers={"alb": Balancer([ALB_GROUP], ["subnet-a", "subnet-b"], {"arn:tg"})},
        )
    )


def test_an_ingress_rule_from_the_load_balancer_group_on_the_port_lets_packets_through() -> None:
    network = view([Rule("tcp", 8000, 8000, group=ALB_GROUP)])
    assert network.blocked("alb", [TASK_GROUP], "subnet-a", 8000) is None
    assert "admit nothing" in network.blocked("alb", [TASK_GROUP], "subnet-a", 8080)


def test_a_cidr_rule_must_cover_every_subnet_of_the_load_balancer() -> None:
    assert view([Rule("tcp", 8000, 8000, cidr="10.42.0.0/16")]).blocked("alb", [TASK_GROUP], "subnet-a", 8000) is None
    one_subnet = view([Rule("tcp", 8000, 8000, cidr="10.42.0.0/24")])
    assert one_subnet.blocked("alb", [TASK_GROUP], "subnet-a", 8000) is not None


def test_the_load_balancer_group_needs_egress_to_the_tasks() -> None:
    network = view([Rule("tcp", 8000, 8000, group=ALB_GROUP)], alb_egress=[Rule("tcp", 443, 443, cidr="0.0.0.0/0")])
    assert "allow no egress" in network.blocked("alb", [TASK_GROUP], "subnet-a", 8000)


def test_a_public_task_pulls_through_an_internet_gateway_only_with_a_public_ip() -> None:
    public = view([], tables=[RouteTable("vpc-1", False, ["subnet-a"], "igw-1"), RouteTable("vpc-1", True, [], None)])
    assert public.pull_blocked("subnet-a", public_ip=True) is None
    assert "no public IP" in public.pull_blocked("subnet-a", public_ip=False)
    # subnet-b has no association of its own: the main table, without a default route.
    assert "no route to an internet gateway" in public.pull_blocked("subnet-b", public_ip=True)


def test_a_private_task_pulls_through_nat_or_the_ecr_and_s3_endpoints() -> None:
    nat = view([], tables=[RouteTable("vpc-1", True, [], "nat-1")])
    assert nat.pull_blocked("subnet-a", public_ip=False) is None
    endpoints = view([], tables=[RouteTable("vpc-1", True, [], None)], endpoints={"ecr.api", "ecr.dkr", "s3"})
    assert endpoints.pull_blocked("subnet-a", public_ip=False) is None
    no_s3 = view([], tables=[RouteTable("vpc-1", True, [], None)], endpoints={"ecr.api", "ecr.dkr"})
    assert no_s3.pull_blocked("subnet-a", public_ip=False) is not None


def test_a_target_group_no_listener_forwards_to_is_not_in_use() -> None:
    network = view([])
    assert network.in_use("arn:tg") and not network.in_use("arn:other")
