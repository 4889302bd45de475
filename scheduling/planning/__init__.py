"""scheduling/planning."""
