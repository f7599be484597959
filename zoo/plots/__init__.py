"""Pictures of predictions for people to look at (matplotlib, imported lazily: an optional extra)."""
