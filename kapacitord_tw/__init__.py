"""A Twisted re-implementation of Kapacitor's daemon, centred on internal authorizations."""

__version__ = "1.8.3+tw.0.1.0"
