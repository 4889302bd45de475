"""Capacity, calendar, forecast, the batch planner, pickup slots, standing orders and the
APScheduler jobs. Imports inventory; never imports shop."""
