"""Checks: every one has the same shape (see ``CheckResult``)."""
