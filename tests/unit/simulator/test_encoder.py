"""The simulator's own encoder against words worked out by hand, and against the codec."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gateway.edge.codec import codec_for
from gateway.profiles import DeviceProfile, load_profile
from gateway.simulator.encoder import encoder_for
from tests.integration.edge.wiretypes import WIRE_CASES, write_profile


@pytest.fixture(name="profile", scope="module")
def fixture_profile(tmp_path_factory: pytest.TempPathFactory) -> DeviceProfile:
    return load_profile(write_profile(Path(tmp_path_factory.mktemp("profile"))))


@pytest.mark.parametrize("key", sorted(WIRE_CASES))
def test_encoder_gives_the_hand_computed_words(profile: DeviceProfile, key: str) -> None:
    value, words = WIRE_CASES[key][5], WIRE_CASES[key][6]
    assert encoder_for(profile, profile.point(key)).registers(value) == words


@pytest.mark.parametrize("key", sorted(WIRE_CASES))
def test_the_pollers_codec_decodes_what_the_encoder_sends(profile: DeviceProfile, key: str) -> None:
    point = profile.point(key)
    words = encoder_for(profile, point).registers(WIRE_CASES[key][5])
    assert codec_for(profile, point).decode(words) == pytest.approx(WIRE_CASES[key][5], rel=1e-7)


def test_a_register_flag_sets_only_its_bit(profile: DeviceProfile) -> None:
    encoder = encoder_for(profile, profile.point("bit5"))
    assert encoder.registers(1.0) == [1 << 5] == [encoder.flag_mask()]
    assert encoder.registers(0.0) == [0]


def test_integers_are_rounded_and_clamped_nan_sends_zeros(profile: DeviceProfile) -> None:
    encoder = encoder_for(profile, profile.point("i16"))
    assert encoder.registers(1e9) == [0x7FFF]
    assert encoder.registers(-1e9) == [0x8000]
    assert encoder.registers(2.6) == [3]
    assert encoder.registers(math.nan) == [0]


def test_a_word_order_disagreement_shows_as_a_wrong_value(profile: DeviceProfile) -> None:
    # The device sends f32 high word first; a poller configured for low word first must
    # read something else. (With one shared codec both sides would agree on any bug.)
    sent = encoder_for(profile, profile.point("f32")).registers(123.25)
    wrong = profile.point("f32_ws").model_copy(update={"address": 12})
    assert codec_for(profile, wrong).decode(sent) != pytest.approx(123.25)
