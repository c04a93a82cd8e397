"""``decode_message`` on any bytes: a message or ``MessageError``, never another exception.

Found by an atheris run (issue 15, ~852k executions): a buffer shorter than the
19-octet header raised IndexError.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexthop.bgp.constants import MARKER, ErrorCode, HeaderErrorSubcode
from nexthop.bgp.wire import Message, MessageError, Negotiated, decode_message

NEGOTIATED = [Negotiated(), Negotiated(asn4=True, extended_message=True)]


@pytest.mark.parametrize("length", range(19))
def test_a_buffer_shorter_than_the_header_is_bad_message_length(length: int) -> None:
    data = (MARKER + b"\x00\x13\x04")[:length]  # a KEEPALIVE cut short
    with pytest.raises(MessageError) as info:
        decode_message(data, Negotiated())
    error = info.value
    assert (error.code, error.subcode) == (
        ErrorCode.MESSAGE_HEADER,
        HeaderErrorSubcode.BAD_MESSAGE_LENGTH,
    )
    assert error.data == length.to_bytes(2, "big")


def _outcome(data: bytes, negotiated: Negotiated) -> Message | MessageError:
    try:
        return decode_message(data, negotiated)
    except MessageError as exc:
        return exc


MARKED = st.binary(max_size=8).map(lambda tail: MARKER + tail)  # around the header's end
HEADERED = st.builds(
    lambda length, kind, body: MARKER + length.to_bytes(2, "big") + bytes((kind,)) + body,
    st.integers(0, 0xFFFF),
    st.integers(0, 6),
    st.binary(max_size=120),
)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.binary(max_size=64), MARKED, HEADERED), st.sampled_from(NEGOTIATED))
def test_any_bytes_decode_to_a_message_or_the_documented_error(
    data: bytes, negotiated: Negotiated
) -> None:
    outcome = _outcome(data, negotiated)
    assert isinstance(outcome, Message | MessageError)
