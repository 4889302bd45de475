"""The manager's season-planning console and its JSON API (/manager/plan, /api/v1/planning)."""
