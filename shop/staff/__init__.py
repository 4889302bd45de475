"""Manager and staff accounts, created by a manager from the browser."""
