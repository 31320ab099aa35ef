"""A day-2 change of settings: what it does (preview), refusals, volume expansion, the gated rolling restart."""
