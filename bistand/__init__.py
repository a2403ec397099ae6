"""bistand: a software robot that prepares försörjningsstöd applications for decision."""

__version__ = "0.1.0"
