"""The work queue: one item per application, leases, retries across runs, parked items.

`open_queue(url)` gives the store for `BISTAND_QUEUE_URL` (SQLite for one machine, PostgreSQL
for several runners on several machines); the run core's `QueueAdapter` (bistand.run.adapter)
puts it behind rpaframework's work-item interface so the task suites keep using
`RPA.Robocorp.WorkItems`.
"""

from bistand.queue.store import QueueItem, QueueStore, open_queue

__all__ = ["QueueItem", "QueueStore", "open_queue"]
