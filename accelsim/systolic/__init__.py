"""Systolic-array models: config, mapping, stepping (cycle-by-cycle) and fast (closed-form) timing."""
