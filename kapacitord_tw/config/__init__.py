"""Kapacitor's configuration: model, loading, rendering, addresses and TLS."""
