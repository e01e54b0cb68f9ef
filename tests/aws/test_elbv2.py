"""A forward's weights as ModifyListener/ModifyRule take them back."""

from __future__ import annotations

from snailtrail.aws.elbv2 import forward_weights, with_forward_weights

BLUE, GREEN, OTHER = "arn:tg/shine-tg/1", "arn:tg/shine-tg-alt/2", "arn:tg/other-app/3"


def test_moving_the_services_weights_keeps_a_third_target_group_of_the_forward() -> None:
    actions = [
        {
            "Type": "forward",
            "Order": 1,
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": BLUE, "Weight": 80},
                    {"TargetGroupArn": OTHER, "Weight": 20},
                    {"TargetGroupArn": GREEN, "Weight": 0},
                ],
                "TargetGroupStickinessConfig": {"Enabled": False},
            },
        }
    ]
    moved = with_forward_weights(actions, {BLUE: 40, GREEN: 40})
    assert forward_weights(moved) == {BLUE: 40, OTHER: 20, GREEN: 40}
    assert moved[0]["ForwardConfig"]["TargetGroupStickinessConfig"] == {"Enabled": False}
    assert actions[0]["ForwardConfig"]["TargetGroups"][0]["Weight"] == 80  # the described actions stay as read


def test_a_plain_forward_becomes_a_weighted_one() -> None:
    moved = with_forward_weights([{"Type": "forward", "TargetGroupArn": BLUE}], {BLUE: 90, GREEN: 10})
    assert "TargetGroupArn" not in moved[0]
    assert forward_weights(moved) == {BLUE: 90, GREEN: 10}
