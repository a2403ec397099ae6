"""Shared login/session helpers for the simulated systems."""
