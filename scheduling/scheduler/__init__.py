"""The scheduler: job registry, runner, leader lock and the jobs that keep the system tidy."""
