"""awsdb: cluster-aware layer over DB-API drivers."""
