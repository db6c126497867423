"""Rollback drills on a staging copy: inject a fault under a synthetic user load, let
detection and the plan's procedure work, and measure recovery time and lost writes
(issue 13, ADR 0010)."""
