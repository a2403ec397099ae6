"""The team lead's dashboard over the work queue: `python -m bistand dashboard` (docs/dashboard.md).

Counts per state (the same store call as `queue status`), charts drawn server-side with
matplotlib, parked and failed items with retry/skip, and each item's log and evidence; behind a
login. `recording` is the bot's side: one masked outcome per finished item.
"""
