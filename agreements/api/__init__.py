"""The partner REST API: serializers, endpoints and the ODRL policy."""
