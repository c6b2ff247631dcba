"""GET /metrics: Prometheus text with request, upstream and cache series,
named and labelled by Prometheus conventions (issue 12 item 9)."""

from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.shopify import ShopifyFake
from tests.harness import running_app


def samples(text):
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_metrics_count_requests_upstream_calls_and_cache(tmp_path):
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "sandbox", {})
        for customer_id in ("1", "2", "999999"):
            await api.get_customer(tenant, token, customer_id)
        text = (await api.client.get("/metrics")).text
        s = samples(text)
        route = "/ecommerce/customers/{id}"
        requests = "shoprelay_http_requests_total"
        assert s[(requests, (("code", "200"), ("method", "GET"), ("route", route)))] == 2
        assert s[(requests, (("code", "404"), ("method", "GET"), ("route", route)))] == 1
        duration = "shoprelay_http_request_duration_seconds"
        assert s[(f"{duration}_count", (("method", "GET"), ("route", route)))] == 3
        assert s[(f"{duration}_bucket", (("le", "+Inf"), ("method", "GET"), ("route", route)))] == 3
        assert s[(f"{duration}_sum", (("method", "GET"), ("route", route)))] > 0
        upstream = "shoprelay_upstream_calls_total"
        assert s[(upstream, (("outcome", "ok"), ("provider", "sandbox")))] == 2
        # The error table's code, not a Python class name.
        assert s[(upstream, (("outcome", "customer_not_found"), ("provider", "sandbox")))] == 1
        assert s[("shoprelay_upstream_duration_seconds_count", (("provider", "sandbox"),))] == 3
        assert s[("shoprelay_cache_lookups_total", (("cache", "connection"), ("result", "hit")))] == 2
        assert s[("shoprelay_cache_lookups_total", (("cache", "connection"), ("result", "miss")))] == 1
        assert ("shoprelay_circuits_open", ()) in s
        assert any(name == "process_resident_memory_bytes" for name, _ in s)
        assert tenant.api_key not in text and token not in text


async def test_metrics_follow_prometheus_conventions(tmp_path):
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "sandbox", {})
        await api.get_customer(tenant, token, "1")
        text = (await api.client.get("/metrics")).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    ours = {name: f for name, f in families.items() if name.startswith("shoprelay_")}
    assert "shoprelay_http_requests" in ours and "shoprelay_http_request_duration_seconds" in ours
    for name, family in ours.items():
        # No _created series: Prometheus has no use for them.
        assert not any(s.name.endswith("_created") for s in family.samples), name
        if family.type == "counter":
            assert all(s.name == f"{name}_total" for s in family.samples), name
        if name.endswith("_seconds"):
            assert family.type == "histogram" and "seconds" in family.documentation, name
    assert "_created" not in text


async def test_upstream_outcomes_are_the_error_codes(tmp_path):
    shop = ShopifyFake()
    answers = {
        "ok": None,
        "unavailable": shop.server_error(503),
        "auth": shop.unauthorized(),
    }
    async with shop.serve() as origin, running_app(tmp_path, retry_attempts=2) as api:
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "shopify", shop.credentials, shop.settings(origin))
        expected = {"ok": 200, "unavailable": 502, "auth": 502}
        for now, status in expected.items():
            shop.clear_faults()
            if answers[now] is not None:
                shop.answer(answers[now], times=None)
            response = await api.get_customer(tenant, token, shop.ids[0])
            assert response.status_code == status, response.text
        s = samples((await api.client.get("/metrics")).text)
    outcomes = {
        dict(labels)["outcome"]: value
        for (name, labels), value in s.items()
        if name == "shoprelay_upstream_calls_total" and dict(labels)["provider"] == "shopify"
    }
    assert outcomes == {"ok": 1, "provider_unavailable": 1, "provider_auth_failed": 1}
    assert s[("shoprelay_upstream_retries_total", (("provider", "shopify"),))] >= 1


async def test_metrics_can_require_the_admin_token(tmp_path):
    async with running_app(tmp_path, admin_token="adm-0123456789abcdef", metrics_require_admin=True) as api:
        assert (await api.client.get("/metrics")).status_code == 401
        ok = await api.client.get("/metrics", headers={"Authorization": "Bearer adm-0123456789abcdef"})
        assert ok.status_code == 200 and "shoprelay_http_requests_total" in ok.text
