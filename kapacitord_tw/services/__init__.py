"""Notification services (slack, smtp, pagerduty2, ...): alert handlers and service tests.

Each module sends Kapacitor's exact request for one service; the
:mod:`.registry` names them for alert nodes, topic handlers and the
service-tests API.
"""
