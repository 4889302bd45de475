"""Defences against hostile input and hostile users, each in its own module with an
`init_app(app)` the app factory calls: the input boundary, database-unavailable answers,
security headers, server-side sessions, sign-in throttling and the audit log."""
