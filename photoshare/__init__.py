"""photoshare: a self-hosted photo-sharing appliance (private library and social feed in one process)."""

__version__ = "0.1.0"
__all__ = ["__version__"]
