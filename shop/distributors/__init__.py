"""Distributors: bulk bookings, standing orders, 06:00 pickup slots, API and webhooks."""
