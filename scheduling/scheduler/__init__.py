"""scheduling/scheduler."""
