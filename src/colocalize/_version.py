"""The package version, in one place (read by the build backend and by every module that reports
it, without importing the package's ``__init__``)."""

__version__ = "0.1.0.dev0"
