"""Built-in plugins of awsdb-core: ``execute_time``, ``connect_time`` and ``dev``."""
