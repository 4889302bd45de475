"""scheduling/production."""
