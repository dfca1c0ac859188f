"""The connectors' producer on the real broker: where records land, and what it says when it cannot send."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.partitioner.default import murmur2

from connectors.common.producer import DeliveryError, EventProducer

LAS = [b"370", b"371", b"372", b"373", b"380", b"383", b"811", b"812", b"926", b"935"]


def test_an_authority_lands_on_the_partition_kafkas_own_partitioner_gives_it(
    kafka_bootstrap: str, topic_name: str
) -> None:
    # librdkafka's default partitioner is not Kafka's: without murmur2 an authority's records from
    # the connectors and from other clients (faust's retries, kafka-python tools) would split.
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic_name, 27, 1)])
    finally:
        admin.close()
    with EventProducer(kafka_bootstrap) as producer:
        for la in LAS:
            producer.send_encoded(topic_name, la, b"value of " + la)
        assert producer.flush() == len(LAS)
    consumer = KafkaConsumer(topic_name, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=10_000)
    try:
        landed = {record.key: record.partition for record in consumer}
    finally:
        consumer.close()
    assert landed == {la: (murmur2(la) & 0x7FFFFFFF) % 27 for la in LAS}
    assert len(set(landed.values())) > 1


def test_no_broker_is_a_clear_error_before_anything_is_sent() -> None:
    reached = r"Kafka at 127\.0\.0\.1:1 cannot be reached after 1 attempts \(.+\); nothing was sent"
    with pytest.raises(DeliveryError, match=reached):
        EventProducer("127.0.0.1:1", connect_attempts=1, connect_timeout_s=1)
