"""logwatch: Redis incidents from Python/RQ application logs."""

__version__ = "0.1.0"
