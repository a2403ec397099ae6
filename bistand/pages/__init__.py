"""Page objects: the only code that knows a system's pages. One module per system.

Each returns pydantic models (bistand.core.models or its own small models), never raw HTML.
"""
