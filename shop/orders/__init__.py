"""Customer orders: placing them on the shared inventory, paying, cancelling, expiring."""
