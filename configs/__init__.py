"""Run configurations: one file per task and model, each with get_config(arg=None)."""
