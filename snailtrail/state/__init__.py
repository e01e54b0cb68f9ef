"""What outlives a process: the lock, the trail and what it says (history, schema, reports), and the webhooks told
of it.
"""
