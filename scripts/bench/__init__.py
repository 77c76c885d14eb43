"""Helpers of scripts/bench.py (`make bench`): audit-log and task-log reading, the API client the
benchmark uses for its own set-up, and the report (docs/performance.md and docs/performance.png)."""
