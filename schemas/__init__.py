"""The event contracts every part of the hub speaks.

``schemas.events`` (load schemas, build and validate events), ``schemas.codec`` (bytes on Kafka),
``schemas.topics`` (the topic catalogue), ``schemas.compat`` (evolution check). This package imports
nothing else of the hub's.
"""
