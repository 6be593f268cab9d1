"""The after-sales cloud: tickets and their flow, parts, stations, notices, KPIs."""
