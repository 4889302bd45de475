"""The production area of the manager console: batches, batch sheet, trace, soak standard and
the scheduler status page."""
