"""What an account must have before a deploy: the CloudFormation stacks, the IAM policies, doctor's preflight and
the account guard.
"""
