"""The roles a user may hold and the groups of them that routes and rules check: one list, one place."""

ROLES = ("operator", "inspector", "supervisor", "auditor", "admin")

FILL_ROLES = ("operator", "inspector", "supervisor")  # fill checklists and report downtime
READ_ROLES = ("operator", "inspector", "supervisor", "auditor", "admin")  # read a record
SEARCH_ROLES = ("inspector", "supervisor", "auditor", "admin")  # search records and export them
CORRECT_ROLES = ("inspector", "supervisor")  # correct a submitted record
SIGN_ROLES = ("inspector", "supervisor")  # review and sign records
DECIDER_ROLES = ("supervisor", "inspector")  # decide what happens with a deviation
RAISE_ROLES = ("operator", "inspector", "supervisor")  # raise a deviation by hand and record causes
STEP_ROLES = ("inspector", "supervisor")  # acknowledge, decide, resolve and close deviations
LIST_ROLES = ("inspector", "supervisor", "auditor", "admin")  # list and search deviations
