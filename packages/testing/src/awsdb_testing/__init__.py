"""awsdb-testing: local emulated Aurora clusters, fault injection and plugin test kit."""
