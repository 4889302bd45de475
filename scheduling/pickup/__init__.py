"""scheduling/pickup."""
