import pytest

from campaigns.selectors import message_match
from campaigns.tokens import (
    find_token, message_pk_from_token, message_pk_from_unsubscribe_address, message_token, rfc_message_id,
    unsubscribe_address, verp_address,
)
from tests.factories import MessageFactory


def test_a_token_names_its_message_and_survives_lower_casing():
    token = message_token(123456789)
    assert token == token.lower()
    assert message_pk_from_token(token.upper()) == 123456789


def test_a_forged_or_damaged_token_names_nothing():
    token = message_token(42)
    body, mac = token.split("-")
    assert message_pk_from_token(f"{body}-{'0' * 12}") is None
    assert message_pk_from_token(f"{int(body, 36) + 1:x}-{mac}") is None
    assert message_pk_from_token("") is None


def test_a_token_made_under_another_secret_key_names_nothing(settings):
    token = message_token(42)
    settings.SECRET_KEY = "another-" + "s" * 50  # a rotated key: old tokens no longer verify
    assert message_pk_from_token(token) is None
    assert message_pk_from_token(message_token(42)) == 42


def test_the_token_is_found_inside_a_verp_address_and_a_message_id(settings):
    settings.LOCKLINE_MAIL_DOMAIN = "mail.lockline.test"
    assert find_token(verp_address(77)) == 77
    assert find_token(f"<{rfc_message_id(77)}>") == 77



def test_only_our_own_unsubscribe_address_names_a_message(settings):
    settings.LOCKLINE_MAIL_DOMAIN = "mail.lockline.test"
    address, token = unsubscribe_address(77), message_token(77)
    forged = address.replace(token, token[:-1] + ("1" if token.endswith("0") else "0"))
    assert address == f"unsubscribe+{message_token(77)}@mail.lockline.test"
    assert message_pk_from_unsubscribe_address(f"  {address.upper()} ") == 77
    for other in (verp_address(77), address.replace("@mail.", "@other."), address.replace("unsubscribe+", "x+"),
                  forged, "unsubscribe@mail.lockline.test"):
        assert message_pk_from_unsubscribe_address(other) is None


@pytest.mark.django_db
def test_a_bounce_is_matched_by_token_message_id_esp_id_or_recent_recipient():
    message = MessageFactory(message_id="abc@lockline.test", esp_message_id="esp-1")
    assert message_match(token=verp_address(message.pk)) == message
    assert message_match(message_id="<abc@lockline.test>") == message
    assert message_match(esp_message_id="esp-1") == message
    assert message_match(email=message.to_email.upper()) == message
    assert message_match(email="stranger@example.com") is None
