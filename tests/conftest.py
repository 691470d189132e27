import pytest

from tests.factories import StaffFactory


@pytest.fixture
def staff_user(db):
    return StaffFactory(username="staff")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def imap_server():
    from tests.imap import start_dovecot

    server, stop = start_dovecot()
    yield server
    stop()
