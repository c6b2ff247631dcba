"""Panora's published Python client (panora-sdk 0.7.0) reads our responses."""

import asyncio

import pytest
from panora_sdk import Panora
from panora_sdk.models import SDKError

from tests.harness import served_over_http


async def test_panora_client_retrieves_a_customer(tmp_path):
    async with served_over_http(tmp_path) as (api, base_url):
        tenant = await api.tenant()
        _, token = await api.connection(tenant, "sandbox", {})

        def retrieve(**kwargs):
            client = Panora(api_key=tenant.api_key, server_url=base_url)
            return client.ecommerce.customers.retrieve(x_connection_token=token, **kwargs)

        customer = await asyncio.to_thread(retrieve, id="7", remote_data=True)
        assert customer.id == customer.remote_id == "7"
        assert customer.email and customer.email.endswith("7@example.com")
        assert customer.first_name and customer.last_name
        assert customer.addresses and customer.addresses[0].city
        assert customer.addresses[0].owner_type == "customer"
        assert customer.remote_data is not None
        assert customer.created_at and customer.created_at.endswith("Z")

        plain = await asyncio.to_thread(retrieve, id="7")
        assert plain.remote_data is None

        with pytest.raises(SDKError) as info:
            await asyncio.to_thread(retrieve, id="999999")
        assert info.value.status_code == 404
