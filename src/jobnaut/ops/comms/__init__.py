"""Telling people: incidents, notices, the status page, the timeline and post-mortems
(the plan's Communication Plan, Contact Information and Post-Rollback Actions)."""
