"""The shared ground: items, lots, the stock ledger, supply, claims, available-to-promise,
and the plumbing every package stands on (settings, database, the event outbox)."""
