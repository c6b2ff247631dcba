"""The SQLite files hold key digests and sealed credentials: owner-only,
the -wal and -shm files SQLite creates lazily included."""

import os
import stat

from tests.harness import running_app

ADMIN = "admin-token-for-tests-0123456789"


async def test_database_wal_and_shm_are_0600_after_a_write(tmp_path):
    previous = os.umask(0)  # the laxest umask an operator could run with
    try:
        async with running_app(tmp_path, admin_token=ADMIN) as api:
            response = await api.client.post(
                "/admin/tenants", json={"name": "acme"}, headers={"authorization": f"Bearer {ADMIN}"}
            )
            assert response.status_code == 201
            files = {name: tmp_path / name for name in ("shoprelay.db", "shoprelay.db-wal", "shoprelay.db-shm")}
            assert all(path.exists() for path in files.values()), sorted(os.listdir(tmp_path))
            modes = {name: oct(stat.S_IMODE(path.stat().st_mode)) for name, path in files.items()}
            assert modes == dict.fromkeys(files, "0o600"), modes
    finally:
        os.umask(previous)
