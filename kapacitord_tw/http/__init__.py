"""The HTTP surface: Kapacitor's middleware root and one Klein class per API area."""
