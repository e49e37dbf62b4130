"""Compatibility with other tools' conventions (SCALE-Sim), kept apart from the core model."""
