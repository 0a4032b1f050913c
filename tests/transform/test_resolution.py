"""The places readings are written at: found as a mix, and reproduced on drawn values."""

from __future__ import annotations

import numpy as np
import pytest

from synthkit.transform.resolution import Resolution


def _share_whole(values: np.ndarray) -> float:
    return float(np.mean(values == np.round(values)))


def test_a_few_converted_readings_among_whole_ones_are_a_mix_of_two_places():
    """97 % whole readings and 3 % with four decimals (a unit conversion): both kept, in their shares."""
    rng = np.random.default_rng(0)
    whole = rng.integers(0, 200, 9_700).astype(float)
    converted = np.round(rng.uniform(0, 200, 300), 4)
    found = Resolution.fit(np.concatenate([whole, converted, [np.nan]]))
    assert found.places == (0, 4)
    assert found.shares[0] == pytest.approx(0.97, abs=0.002)


def test_whole_numbers_that_tenths_hit_by_chance_are_not_a_place_of_their_own():
    """Tenths are whole one time in ten by chance: unmixed, the readings are all tenths."""
    tenths = np.round(np.random.default_rng(1).uniform(-20, 40, 20_000), 1)
    assert _share_whole(tenths) == pytest.approx(0.1, abs=0.01)
    found = Resolution.fit(tenths)
    assert found.places == (1,) and found.shares == (1.0,)


def test_drawn_values_come_out_at_the_readings_shares_of_places_without_float_tails():
    """Temperatures in tenths where some stations round to whole degrees (15 % whole, not 10 %):
    drawn continuous values are written with the same shares, and three tenths is 0.3, not
    0.30000000000000004."""
    rng = np.random.default_rng(2)
    real = np.concatenate([np.round(rng.uniform(-10, 30, 9_400), 1), np.round(rng.uniform(-10, 30, 600))])
    found = Resolution.fit(real)
    drawn = found.apply(rng.uniform(-10, 30, 50_000), np.random.default_rng(3))
    assert _share_whole(drawn) == pytest.approx(_share_whole(real), abs=0.01)
    np.testing.assert_array_equal(drawn, np.round(drawn, 1))
    assert max(len(repr(float(v))) for v in drawn) <= len("-10.0")
    assert repr(float(found.apply(np.array([0.30000000000000004]), rng)[0])) == "0.3"


def test_one_place_needs_no_draw_and_missing_values_stay_missing():
    rng = np.random.default_rng(4)
    whole = Resolution.fit(np.arange(50.0))
    state = rng.bit_generator.state
    out = whole.apply(np.array([1.4, np.nan, 2.6]), rng)
    np.testing.assert_array_equal(out, [1.0, np.nan, 3.0])
    assert rng.bit_generator.state == state  # no random numbers spent on a single place


def test_a_continuous_column_is_left_as_drawn_and_an_empty_one_too():
    values = np.random.default_rng(5).normal(size=500)
    found = Resolution.fit(values)
    assert found.places == (None,)
    np.testing.assert_array_equal(found.apply(values, np.random.default_rng(0)), values)
    assert Resolution.fit(np.array([np.nan, np.inf])).places == (None,)


def test_the_state_round_trips_and_a_single_grid_of_older_files_reads_as_one_place():
    found = Resolution.fit(np.concatenate([np.arange(100.0), [1.25, 3.5]]))
    assert Resolution.from_state(found.to_state()) == found
    assert Resolution.from_grid(0.1) == Resolution((1,), (1.0,))
    assert Resolution.from_grid(1.0) == Resolution((0,), (1.0,))
    assert Resolution.from_grid(0.0) == Resolution((None,), (1.0,))


def test_an_entitys_values_share_one_draw_so_a_carried_value_reads_the_same():
    """A weight carried unchanged through a stay is written at one place for the whole stay."""
    found = Resolution.fit(np.concatenate([np.arange(50.0), np.arange(50.0) + 0.3]))
    assert found.places == (0, 1)
    groups = np.repeat(np.arange(400), 5)
    out = found.apply(np.full(len(groups), 80.34), np.random.default_rng(6), groups)
    per_entity = out.reshape(400, 5)
    assert (per_entity == per_entity[:, :1]).all()
    assert set(np.unique(out)) == {80.0, 80.3}
    assert np.mean(per_entity[:, 0] == 80.0) == pytest.approx(0.5, abs=0.08)


def test_values_already_written_at_a_place_keep_it_and_only_finer_ones_are_drawn_one():
    """A model that returns training values (29.83) must not have them rounded again to tenths;
    a drawn 29.8361 gets a place from the shares; a float tail (3.8000000000000003) is cleaned."""
    found = Resolution((1, 2), (0.5, 0.5))
    values = np.array([29.83, 3.8000000000000003, 29.8361, np.nan])
    out = found.apply(values, np.random.default_rng(0), keep_written=True)
    assert out[0] == 29.83 and repr(float(out[1])) == "3.8" and out[2] in (29.8, 29.84) and np.isnan(out[3])
    many = found.apply(np.full(4000, 29.83), np.random.default_rng(1))
    assert 0.4 < np.mean(many == 29.8) < 0.6  # without keep_written every value is drawn a place
