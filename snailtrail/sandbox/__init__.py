"""The embedded environment: moto's control plane, a reconciler playing the ECS agent, a front door."""
