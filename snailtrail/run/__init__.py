"""Carrying a plan out: images, smoke, service operations, watching and judging a deployment, recovery, rollback
and one-off tasks.
"""
