"""What a deploy will do, decided before anything changes: typed steps, strategies, the planner, task-definition
rendering, capacity and time budgets.
"""
