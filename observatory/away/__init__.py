"""Away mode: an agent's permission prompt is held for an Approve / Deny from the phone.

book.py keeps the pending requests and their first outcome; api.py is the held hook route,
the switch (GET/PUT /api/away) and the approvals API; cli.py is `observatory away`.
"""

# The agent-side timeout `observatory install` gives the permission hook; the server's hold
# (away.wait_s) always ends before it, so the server, not the agent, decides when to give up.
HOOK_TIMEOUT_S = 900
