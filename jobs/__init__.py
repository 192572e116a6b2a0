"""RQ jobs and their schedule: thin calls into the engine.

The worker listens on `QUEUE`; the scheduler process (rq-scheduler) enqueues onto it.
"""

QUEUE = "questboard"
