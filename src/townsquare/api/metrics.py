"""The process's Prometheus metrics: one registry per app, scraped per process (each process is its own target)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Buckets from a cheap shed (sub-millisecond) to a request stuck behind a queue.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Counters and gauges of one app; request figures are counted as they happen, the rest read at scrape time."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("townsquare_http_requests", "HTTP requests answered, by criticality class and status code",
                                ["route_class", "code"], registry=r)
        self.latency = Histogram("townsquare_http_request_duration_seconds", "Time in the app per request, by class",
                                 ["route_class"], buckets=LATENCY_BUCKETS, registry=r)
        self.shed = Counter("townsquare_shed_requests", "Requests refused before any work, by class and reason",
                            ["route_class", "reason"], registry=r)
        self.limit = Gauge("townsquare_concurrency_limit", "The adaptive concurrency limit in force", registry=r)
        self.inflight = Gauge("townsquare_requests_in_flight", "Requests being worked on now (limited classes)", registry=r)
        self.min_rtt = Gauge("townsquare_min_rtt_seconds", "The latency baseline the limit is measured against", registry=r)
        self.queue = Gauge("townsquare_admission_queue_length", "Joins waiting in this process's waiting rooms", registry=r)
        self.queue_turns = Gauge("townsquare_join_turns_waiting",
                                 "Joins let in by their room, waiting for this process to have room", registry=r)
        self.live_rooms = Gauge("townsquare_spaces_live_rooms", "Spaces on air", registry=r)
        self.listeners = Gauge("townsquare_spaces_listeners", "Listeners counted in live Spaces (presence)", registry=r)
        self.publish_lag = Gauge("townsquare_spaces_segment_publish_lag_seconds",
                                 "How long after its audio ended the newest segment was published (worst room here)",
                                 registry=r)
        self.jobs_depth = Gauge("townsquare_jobs_queue_depth", "Job rows by state", ["state"], registry=r)
        self.jobs_oldest = Gauge("townsquare_jobs_oldest_ready_age_seconds",
                                 "Age of the oldest due job not yet taken (job lag)", registry=r)
