"""Who may do what in the manager console (plain values, no database)."""

from __future__ import annotations

from shop.models import Role

# Roles a manager creates from the console; customers sign up, distributors are invited.
CONSOLE_ROLES = (Role.MANAGER, Role.STAFF)
# The order desk and the pickup board: counter work on a peak morning.
DESK_ROLES = (Role.MANAGER, Role.STAFF)
MAX_NAME = 120
