"""Police: notifications in the hub's published JSON format (:mod:`.notifications`, ``notification.schema.json``)."""
