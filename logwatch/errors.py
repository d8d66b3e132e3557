"""Exception classes; each carries the exit code the CLI turns it into."""


class LogwatchError(Exception):
    """Base of every error logwatch reports as a one-line message."""

    exit_code = 2


class ConfigError(LogwatchError):
    """The configuration file or an option value is invalid."""


class RuleError(ConfigError):
    """A rule pack is invalid: bad TOML, unknown key, regex that does not compile."""


class SourceError(LogwatchError):
    """A log path cannot be read: missing, unreadable, not a log."""


class StateError(LogwatchError):
    """The state database cannot be opened or written."""
