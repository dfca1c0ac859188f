"""The matching worker's publisher on the real broker: what the broker refuses is never lost in silence."""

from __future__ import annotations

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from services.matching.worker import KafkaPublisher, PublishFailed


def _topic(bootstrap: str, name: str, **configs: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, 1, 1, topic_configs=configs)])
    finally:
        admin.close()


def test_a_message_the_broker_refuses_fails_the_flush(kafka_bootstrap: str, topic_name: str) -> None:
    _topic(kafka_bootstrap, topic_name, **{"max.message.bytes": "1000"})
    publisher = KafkaPublisher(kafka_bootstrap)
    try:
        publisher.send(topic_name, b"small")
        publisher.flush()  # taken: nothing to report
        publisher.send(topic_name, b"x" * 5000)
        publisher.send(topic_name, b"small again")
        with pytest.raises(PublishFailed, match=r"did not take [12] of 2 messages: MSG_SIZE_TOO_LARGE"):
            publisher.flush()
        publisher.send(topic_name, b"after")
        publisher.flush()  # the failure is reported once, not carried into the next batch
    finally:
        publisher.close()
