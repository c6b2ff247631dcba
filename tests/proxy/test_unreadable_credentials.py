"""A stored credential this server cannot decrypt is the operator's keyring
at fault, not the merchant's platform: 503 ``credentials_unreadable`` naming
the key id (never the key), instead of 502 ``provider_auth_failed``."""

import pytest

from keys.vault import new_key_text
from tests.harness import TEST_KEYRING, running_app

OTHER_ID = new_key_text("other")  # the stored rows' key is not in this ring
SAME_ID_OTHER_KEY = new_key_text("test1")  # an id clash: same name, other key


async def _stored(tmp_path):
    """A tenant and a sandbox connection stored under TEST_KEYRING ("test1")."""
    async with running_app(tmp_path) as api:
        tenant = await api.tenant()
        connection_id, token = await api.connection(tenant, "sandbox", {})
        assert (await api.get_customer(tenant, token, "1")).status_code == 200
    return tenant, connection_id, token


@pytest.mark.parametrize("keyring, reason", [
    (OTHER_ID, "not in this server's keyring"),
    (SAME_ID_OTHER_KEY, "does not decrypt them"),
], ids=["unknown-key-id", "same-id-other-key"])
async def test_a_read_answers_503_naming_the_key_id(tmp_path, keyring, reason):
    tenant, _, token = await _stored(tmp_path)
    async with running_app(tmp_path, encryption_keys=keyring) as api:
        response = await api.get_customer(tenant, token, "1")
        listed = await api.client.get(
            "/ecommerce/customers", headers={"x-api-key": tenant.api_key, "x-connection-token": token}
        )
    for answer in (response, listed):
        assert answer.status_code == 503, answer.text
        problem = answer.json()
        assert problem["code"] == "credentials_unreadable"
        assert "'test1'" in problem["detail"] and reason in problem["detail"]
        assert "provider" not in problem  # not the platform's fault
        for secret in (TEST_KEYRING, keyring):
            assert secret.split(":")[1] not in answer.text


async def test_updating_settings_of_an_unreadable_connection_is_503_not_500(tmp_path):
    tenant, connection_id, _ = await _stored(tmp_path)
    async with running_app(tmp_path, encryption_keys=OTHER_ID) as api:
        response = await api.client.patch(
            f"/connections/{connection_id}", json={"settings": {"size": 3}},
            headers={"x-api-key": tenant.api_key},
        )
    assert response.status_code == 503 and response.json()["code"] == "credentials_unreadable"


async def test_the_old_key_back_in_the_ring_reads_again(tmp_path):
    tenant, _, token = await _stored(tmp_path)
    async with running_app(tmp_path, encryption_keys=f"{OTHER_ID},{TEST_KEYRING}") as api:
        assert (await api.get_customer(tenant, token, "1")).status_code == 200
