"""snailtrail: verified, phased rollouts of container services on Amazon ECS."""

__version__ = "0.1.0"
