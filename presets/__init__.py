"""Shipped presets: one commented TOML file per named configuration (see README)."""
