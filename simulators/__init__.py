"""Simulated systems the bot drives: the e-service, six agency portals, the case-management system.

Real web applications (FastAPI + Jinja2, SQLite state) seeded from one world file. They know
nothing of the bot and never import it.
"""
