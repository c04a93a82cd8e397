"""The BFD Control packet codec (RFC 5880 §4.1) and the reception checks of §6.8.6."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexthop.bfd import BfdPacketError, ControlPacket, Diagnostic, State, decode, encode

U32 = st.integers(min_value=0, max_value=0xFFFFFFFF)


@st.composite
def packets(draw: st.DrawFn) -> ControlPacket:
    state = draw(st.sampled_from(State))
    your = draw(U32)
    if state not in (State.DOWN, State.ADMIN_DOWN):
        your = max(your, 1)  # §6.8.6: zero only in Down/AdminDown
    return ControlPacket(
        state=state,
        diagnostic=draw(st.sampled_from(Diagnostic)),
        poll=draw(st.booleans()),
        final=draw(st.booleans()),
        control_plane_independent=draw(st.booleans()),
        demand=draw(st.booleans()),
        detect_mult=draw(st.integers(min_value=1, max_value=255)),
        my_discriminator=draw(st.integers(min_value=1, max_value=0xFFFFFFFF)),
        your_discriminator=your,
        desired_min_tx_us=draw(U32),
        required_min_rx_us=draw(U32),
        required_min_echo_rx_us=draw(U32),
    )


@given(packets())
def test_every_valid_packet_survives_a_round_trip(packet: ControlPacket) -> None:
    wire = encode(packet)
    assert len(wire) == 24
    assert wire[3] == 24  # the Length field
    assert decode(wire) == packet


def test_the_layout_is_the_rfc_s() -> None:
    """§4.1 field by field: Vers 1 / Diag 3, Sta Up with P, mult 3, length 24, ..."""
    packet = ControlPacket(
        state=State.UP,
        diagnostic=Diagnostic.NEIGHBOR_SIGNALED_SESSION_DOWN,
        poll=True,
        detect_mult=3,
        my_discriminator=0x01020304,
        your_discriminator=0x0A0B0C0D,
        desired_min_tx_us=100_000,
        required_min_rx_us=200_000,
        required_min_echo_rx_us=0,
    )
    assert encode(packet) == bytes.fromhex("23e00318010203040a0b0c0d000186a000030d4000000000")


def _raw(
    *,
    version: int = 1,
    flags: int = 0x40,  # Down
    mult: int = 3,
    length: int = 24,
    my: int = 7,
    your: int = 0,
    extra: bytes = b"",
) -> bytes:
    header = struct.pack("!BBBBIIIII", version << 5, flags, mult, length, my, your, 1, 1, 0)
    return header + extra


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (_raw()[:23], "length"),
        (_raw(version=0), "version"),
        (_raw(version=2), "version"),
        (_raw(length=23), "length"),
        (_raw(length=25), "length"),  # more than was received
        (_raw(mult=0), "detect_mult"),
        (_raw(flags=0x41), "multipoint"),
        (_raw(my=0), "my_discriminator"),
        (_raw(flags=0xC0, your=0), "your_discriminator"),  # Up with Your Discr 0
        (_raw(flags=0x80, your=0), "your_discriminator"),  # Init with Your Discr 0
        (_raw(flags=0x44, length=26, extra=b"\x01\x05"), "authentication"),
        (_raw(flags=0x44, length=24), "length"),  # A bit: at least 26
    ],
)
def test_each_reception_check_discards_with_its_rule(data: bytes, rule: str) -> None:
    with pytest.raises(BfdPacketError) as info:
        decode(data)
    assert info.value.rule == rule


def test_trailing_octets_beyond_the_length_are_ignored() -> None:
    packet = decode(_raw(extra=b"\x00" * 8))
    assert packet.state is State.DOWN
    assert packet.my_discriminator == 7


@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_the_documented_error(data: bytes) -> None:
    try:
        packet = decode(data)
    except BfdPacketError:
        return
    assert packet.state == State(data[1] >> 6)
    assert packet.detect_mult == data[2] != 0
    assert packet.my_discriminator == int.from_bytes(data[4:8], "big") != 0
