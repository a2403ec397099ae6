"""Simulated system (see simulators/registry.py)."""
