"""The numba compile target: 512-bit vectors only on AVX-512BW hosts, opt-out by env."""

from __future__ import annotations

import pytest

from bstdg.snn.backends.numba.target import WIDTH_ENV, wide_vector_features

AVX512 = {"avx2": True, "avx512bw": True, "avx512f": True, "amx-tile": False}


def test_avx512_hosts_get_their_features_without_the_256_bit_preference() -> None:
    features = wide_vector_features(AVX512, "512")
    assert features is not None
    names = features.split(",")
    assert names[-1] == "-prefer-256-bit"
    assert set(names[:-1]) == {"+avx2", "+avx512bw", "+avx512f", "-amx-tile"}


@pytest.mark.parametrize("host,width", [
    ({"avx2": True, "avx512bw": False}, "512"),  # no AVX-512BW: numba's own target
    ({"avx2": True}, "512"),
    (AVX512, "256"),  # opted out
])
def test_no_change_without_avx512bw_or_when_opted_out(host: dict, width: str) -> None:
    assert wide_vector_features(host, width) is None


def test_an_unknown_width_is_refused_with_the_setting_to_fix() -> None:
    with pytest.raises(ValueError, match=f"{WIDTH_ENV}='1024' is invalid: use 256 or 512"):
        wide_vector_features(AVX512, "1024")
