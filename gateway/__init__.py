"""The edge gateway runtime: ingest, pipeline, durable outbox, forwarder, telemetry sink, health.

Entry points: :class:`gateway.runtime.GatewayRuntime` (and ``run_gateway``) composed from
:class:`gateway.settings.GatewaySettings` (``load_settings``); the exceptions are in
:mod:`gateway.exceptions`. Nothing is re-exported here on purpose: ``aftercare --help``
imports this package through ``gateway.cli``, and the runtime's imports (aiomqtt, httpx,
prometheus-client, influxdb-client) must not load for that.
"""
