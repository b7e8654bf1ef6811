"""InfluxDB 1.x clusters: the client, the subscriptions service and InfluxQL quoting."""
