"""The robot farm seen and heard (docs/operations.md, Monitoring): runners and their heartbeats,
the portals' health per minute, alerts with incidents, and the dashboard's /metrics."""
