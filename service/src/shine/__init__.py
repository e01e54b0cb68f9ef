"""shine: a skin-analysis API that starts fast and degrades instead of failing."""

__version__ = "0.1.0"
