"""The exporter's one error type (no third-party imports, so it can be raised before torch is loaded)."""


class CheckpointError(Exception):
    """A checkpoint or option that cannot be used; the message says which tensor or option and why."""
