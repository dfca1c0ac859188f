"""Partner connectors: partner files in, canonical events and quarantine records out.

One package per partner family (``schools``, ``health``, ``police``, ``border``) and ``common``
(identifier checks, event building, quarantine, the Kafka producer). :mod:`connectors.formats` tells
formats apart from their content and :func:`connectors.formats.parse_input` parses any input;
:mod:`connectors.ingest` runs files or folders through them to a sink (Kafka, or stdout).
"""
