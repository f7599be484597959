"""Losses and training targets shared by tasks (run inside the jitted train step, or on the host for targets)."""
