"""Tests of components/rollout: a day-2 change of settings."""
