"""GET /metrics: Prometheus text with request, upstream and cache series."""

from prometheus_client.parser import text_string_to_metric_families

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
        assert s[("shoprelay_requests_total", (("method", "GET"), ("route", route), ("status", "200")))] == 2
        assert s[("shoprelay_requests_total", (("method", "GET"), ("route", route), ("status", "404")))] == 1
        assert s[("shoprelay_upstream_calls_total", (("outcome", "ok"), ("provider", "sandbox")))] == 2
        assert s[("shoprelay_upstream_calls_total", (("outcome", "CustomerNotFound"), ("provider", "sandbox")))] == 1
        assert s[("shoprelay_cache_lookups_total", (("cache", "connection"), ("result", "hit")))] == 2
        assert s[("shoprelay_cache_lookups_total", (("cache", "connection"), ("result", "miss")))] == 1
        assert ("shoprelay_circuits_open", ()) in s
        assert any(name == "process_resident_memory_bytes" for name, _ in s)
        assert tenant.api_key not in text and token not in text


async def test_metrics_can_require_the_admin_token(tmp_path):
    async with running_app(tmp_path, admin_token="adm-0123456789abcdef", metrics_require_admin=True) as api:
        assert (await api.client.get("/metrics")).status_code == 401
        ok = await api.client.get("/metrics", headers={"Authorization": "Bearer adm-0123456789abcdef"})
        assert ok.status_code == 200 and "shoprelay_requests_total" in ok.text
