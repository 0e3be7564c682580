import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from conftest import make_coded

from syngen.transform import ModeSpecificNormalizer, TableTransformer


@pytest.fixture(scope="module")
def transformer(mixed):
    return TableTransformer(seed=0).fit(mixed)


def test_round_trip_exact_for_discrete_and_dtypes(mixed, transformer):
    back = transformer.inverse_transform(transformer.transform(mixed))
    pdt.assert_series_equal(back.dtypes, mixed.dtypes)
    for column in ["group", "city", "visits", "active", "flag", "country"]:
        pdt.assert_series_equal(back[column], mixed[column], check_exact=True)


def test_round_trip_numbers_within_mode_precision(mixed, transformer):
    back = transformer.inverse_transform(transformer.transform(mixed))
    assert back["amount"].isna().equals(mixed["amount"].isna())
    assert np.allclose(back["amount"].dropna(), mixed["amount"].dropna(), atol=0.011)
    assert back["age"].isna().equals(mixed["age"].isna())
    assert (back["age"].dropna() == mixed["age"].dropna()).mean() > 0.99
    # Dates come back as dates in their zone, at day resolution.
    assert str(back["opened"].dt.tz) == "Europe/Paris"
    assert (back["opened"] == mixed["opened"]).mean() > 0.99


def test_id_regenerated_unique_after_real_ids(mixed, transformer):
    back = transformer.inverse_transform(transformer.transform(mixed))
    assert back["customer_id"].is_unique
    assert back["customer_id"].min() > mixed["customer_id"].max()


def test_layout_spans_cover_the_matrix(mixed, transformer):
    dense = transformer.transform(mixed)
    assert dense.shape == (len(mixed), transformer.output_dim_)
    assert dense.dtype == np.float32
    end = 0
    for span in transformer.layout_:
        assert span.start == end
        block = dense[:, span.start : span.start + span.width]
        if span.activation == "softmax":
            assert np.array_equal(block.sum(axis=1), np.ones(len(mixed)))
        else:
            assert span.width == 1 and np.abs(block).max() <= 1
        end += span.width
    assert end == transformer.output_dim_


def test_ints_stay_in_seen_range_and_nulls_keep_their_rate(mixed, transformer):
    rng = np.random.default_rng(1)
    random_rows = rng.uniform(-1, 1, (5000, transformer.output_dim_)).astype("float32")
    out = transformer.inverse_transform(random_rows, rng)
    ages = out["age"].dropna()
    assert ages.min() >= mixed["age"].min() and ages.max() <= mixed["age"].max()
    assert str(out["age"].dtype) == "Int64"
    encoded = transformer.encode(mixed)
    decoded = transformer.decode(encoded.codes, encoded.scalars)
    assert decoded["city"].isna().mean() == pytest.approx(mixed["city"].isna().mean())


def test_unseen_category_is_a_clear_error(mixed, transformer):
    bad = mixed.copy()
    bad["group"] = bad["group"].cat.add_categories("zzz")
    bad.loc[0, "group"] = "zzz"
    with pytest.raises(ValueError, match=r"column 'group'.*\['zzz'\] were not seen"):
        transformer.transform(bad)


def test_persistence_round_trip(mixed, transformer):
    import json

    copy = TableTransformer.from_dict(json.loads(json.dumps(transformer.to_dict())))
    a = transformer.transform(mixed, np.random.default_rng(3))
    b = copy.transform(mixed, np.random.default_rng(3))
    assert np.array_equal(a, b)
    pdt.assert_frame_equal(
        copy.inverse_transform(a, np.random.default_rng(0)),
        transformer.inverse_transform(a, np.random.default_rng(0)),
    )


def test_normalizer_finds_separated_modes():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-10, 1, 3000), rng.normal(20, 2, 1000)])
    norm = ModeSpecificNormalizer().fit(x, rng)
    big = norm.weights_ > 0.1
    assert big.sum() >= 2
    assert np.any(np.abs(norm.means_[big] + 10) < 1) and np.any(np.abs(norm.means_[big] - 20) < 1)
    scalar, mode = norm.transform(x, rng)
    assert np.abs(norm.inverse_transform(scalar, mode) - x).max() < 1e-3 * np.abs(x).max() + 0.1


def test_spikes_become_point_modes_and_come_back_exactly():
    rng = np.random.default_rng(0)
    n = 20_000
    # A zero-inflated amount with two secondary spikes (as Adult's capital gains), and a
    # column whose values are all equally frequent: no value stands above its neighbours.
    amount = np.where(rng.random(n) < 0.9, 0.0, rng.lognormal(8, 1, n).round())
    u = rng.random(n)
    amount[u < 0.01] = 15024.0
    amount[(u >= 0.01) & (u < 0.018)] = 7688.0
    norm = ModeSpecificNormalizer().fit(amount, rng)
    assert set(norm.means_[: norm.n_points_]) == {0.0, 15024.0, 7688.0}
    assert norm.n_modes - norm.n_points_ >= 5  # the rest keeps a mixture
    scalar, mode = norm.transform(amount, rng)
    back = norm.inverse_transform(scalar, mode)
    spikes = np.isin(amount, [0.0, 15024.0, 7688.0])
    assert np.array_equal(back[spikes], amount[spikes])
    flat = rng.integers(18, 90, n).astype(float)
    assert ModeSpecificNormalizer().fit(flat, rng).n_points_ == 0


def test_cardinality_guard_bounds_width_and_keeps_tail_values():
    rng = np.random.default_rng(0)
    n = 50_000
    df = pd.DataFrame(
        {"code": [f"k{i}" for i in rng.zipf(1.3, n) % 30_000], "x": rng.normal(size=n)}
    )
    t = TableTransformer(max_categories=100, seed=0).fit(df)
    width = next(s.width for s in t.layout_ if s.column == "code")
    assert width == 100
    back = t.inverse_transform(t.transform(df))
    # Frequent values come back exactly; tail values are drawn from the real tail.
    top = df["code"].value_counts().index[:99]
    kept = df["code"].isin(top)
    assert (back["code"][kept] == df["code"][kept]).all()
    assert back["code"].isin(set(df["code"])).all()


def test_wide_table_fits_every_column():
    # Its speed is measured in benchmarks/ (transformer fit against SDV's), not here.
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(20_000, 200)), columns=[f"c{i}" for i in range(200)])
    t = TableTransformer(seed=0).fit(df)
    assert [s.column for s in t.tanh_spans_] == list(df.columns)
    assert {s.column for s in t.layout_ if s.role == "mode"} == set(df.columns)
    back = t.inverse_transform(t.transform(df.head(500)))
    assert (back - df.head(500)).abs().median().max() < 0.05


def test_declared_but_unused_categories_are_not_classes():
    import numpy as np
    import pandas as pd

    from syngen.transform.categorical import CategoricalTransform

    s = pd.Series(pd.Categorical(["a", "b", "a"], categories=["a", "b", "never"]), name="c")
    t = CategoricalTransform().fit(s, np.random.default_rng(0))
    assert t.categories_ == ["a", "b"] and t.n_classes == 2


def test_a_column_that_is_a_function_of_another_is_looked_up_not_modelled():
    import json

    df = make_coded()
    tt = TableTransformer(seed=0, derive_columns=True).fit(df)
    assert {k: source for k, (source, _) in tt.derived_.items()} == {
        "label": "code",
        "region": "code",
    }
    assert {s.column for s in tt.layout_} == {"code", "income"}
    plain = TableTransformer(seed=0).fit(df)
    assert plain.derived_ == {} and tt.output_dim_ == plain.output_dim_ - 5 - 2
    back = tt.inverse_transform(tt.transform(df))
    for column in ("code", "label", "region"):
        pdt.assert_series_equal(back[column], df[column])

    data = json.loads(json.dumps(tt.to_dict()))
    copy = TableTransformer.from_dict(data)
    pdt.assert_frame_equal(
        copy.inverse_transform(tt.transform(df), np.random.default_rng(0)),
        tt.inverse_transform(tt.transform(df), np.random.default_rng(0)),
    )
    data["derived"]["label"]["classes"][0] = 99
    with pytest.raises(ValueError, match="bad lookup for column 'label'"):
        TableTransformer.from_dict(data)


def test_a_lookup_that_could_be_chance_is_not_derived():
    # Four codes of three rows, each holding one flag: true here, but independent columns
    # would do that one time in 256. Sixty rows per code make it beyond doubt.
    small = pd.DataFrame({"code": list("aaabbbcccddd"), "flag": list("xxxyyyxxxyyy")})
    assert TableTransformer(derive_columns=True).fit(small).derived_ == {}
    large = pd.concat([small] * 20, ignore_index=True)
    derived = TableTransformer(derive_columns=True).fit(large).derived_
    assert list(derived) == ["flag"] and derived["flag"][0] == "code"


def test_a_rare_real_value_is_smoothed_never_emitted_verbatim():
    """A 99%-zeros column whose one non-zero value one row holds: the zeros stay an exact point
    mode; the lone value becomes a Gaussian around it, and the clip range lets it spread."""
    from syngen.transform.columns import NumericalTransform
    from syngen.transform.continuous import MIN_POINT_ROWS

    rng = np.random.default_rng(0)
    x = np.zeros(300)
    x[5] = 12345.678
    t = NumericalTransform().fit(pd.Series(x, name="z"), rng)
    assert t.normalizer_.n_points_ == 1 and t.normalizer_.means_[0] == 0.0
    assert t.max_ > 12345.678  # widened: a clip to the real maximum would copy it back
    n = 20_000
    modes = np.full(n, 1)
    out = t.decode([rng.uniform(-1, 1, n).astype("float32"), modes], rng, n)
    assert not (out == 12345.678).any()
    assert out.between(9_000, 16_000).all()
    # Held by MIN_POINT_ROWS rows, the value is common enough to be a point mode again.
    x[:MIN_POINT_ROWS] = 12345.678
    t = NumericalTransform().fit(pd.Series(x, name="z"), rng)
    assert t.normalizer_.n_points_ == 2 and t.max_ == 12345.678
