"""Engine metrics (prometheus-client). Exposed by the web app's /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

LEADERBOARD_READ_SECONDS = Histogram(
    "questboard_leaderboard_read_seconds",
    "Time to answer a leaderboard read in the engine.",
    ["kind"],  # top, around, player_ranks
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
LEADERBOARD_SNAPSHOT_READS = Counter(
    "questboard_leaderboard_snapshot_reads_total",
    "Top-of-board reads answered from the snapshot (hit) or live (miss).",
    ["result"],  # hit, miss
)
JOB_SECONDS = Histogram(
    "questboard_job_seconds",
    "Duration of job runs.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
)
JOB_FAILURES = Counter("questboard_job_failures_total", "Failed job runs.", ["job"])
SECURITY_VIOLATIONS = Counter(
    "questboard_security_violations_total", "Fraud violations recorded.", ["rule"]
)
