"""alertd: an alert engine for ML and platform teams."""

__version__ = "0.1.0"
