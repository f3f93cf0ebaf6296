"""Batch scoring on files and on a real Dask cluster (a LocalCluster of worker processes on loopback): every input row
comes out once, in a known place, with the same answer as the single-process path; bad input fails before any output
exists and leaves nothing half-written."""
import numpy as np
import pandas as pd
import pytest

from mlworkflow.batch import score_batch, score_dask
from mlworkflow.data import SchemaError

distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def messy(trained):
    "The churn customers without the target, three rows with an unreadable tenure."
    m = trained["churn"].drop(columns=["Churn"]).astype({"tenure": object})
    m.loc[[10, 2500, 7000], "tenure"] = ["ten", "?", "-"]
    return m


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_csv_file_in_blocks_matches_score_batch(trained, messy, client, tmp_path):
    src = tmp_path / "customers.csv"
    messy.to_csv(src, index=False)
    single = score_batch(trained["bundle"], src, tmp_path / "single.csv")
    res = score_dask(trained["bundle"], src, tmp_path / "out", client=client, blocksize=200_000)   # about 5 blocks
    out = pd.read_parquet(tmp_path / "out").sort_values(["partition", "row"]).reset_index(drop=True)
    ref = pd.read_csv(tmp_path / "single.csv")
    assert res.partitions > 2 and (res.rows_in, res.rows_out, res.rows_failed) == (7043, 7043, 3) == (single.rows_in, len(out), 3)
    assert out.customerID.tolist() == messy.customerID.tolist()                      # (partition, row) is the input order
    assert out.groupby("partition").row.apply(lambda r: r.tolist() == list(range(len(r)))).all()
    ok = out.error.isna()
    assert out.prediction[ok].tolist() == ref.prediction[ok].tolist()
    np.testing.assert_allclose(out.probability[ok], ref.probability[ok], rtol=1e-12)
    assert sorted(out.customerID[~ok]) == sorted(messy.customerID.iloc[[10, 2500, 7000]])
    assert all("column 'tenure': expected a number" in e for _, e in res.errors)
    assert _leftovers(tmp_path) == []


def test_parquet_folder_and_dask_frame(trained, client, tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    X = trained["churn"].drop(columns=["Churn"])
    (tmp_path / "in").mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(X)), 3)): X.iloc[part].to_parquet(tmp_path / "in" / f"p{i}.parquet")
    res = score_dask(trained["bundle"], tmp_path / "in", tmp_path / "out", client=client, keep=["customerID", "Contract"])
    out = pd.read_parquet(tmp_path / "out")
    assert (res.rows_out, res.rows_failed, res.partitions) == (7043, 0, 3)
    assert list(out.columns) == ["partition", "row", "customerID", "Contract", "prediction", "probability", "error"]
    expected = trained["bundle"].predict_proba(X)
    got = out.sort_values(["partition", "row"]).probability.to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    res2 = score_dask(trained["bundle"], dd.from_pandas(X, npartitions=4), tmp_path / "out2", client=client)
    assert (res2.rows_out, res2.partitions, res2.src) == (7043, 4, "a Dask DataFrame")


def test_bad_input_leaves_nothing(trained, messy, client, tmp_path):
    messy.drop(columns=["Contract"]).to_csv(tmp_path / "no_contract.csv", index=False)
    with pytest.raises(SchemaError, match="no_contract.csv: column 'Contract' is missing"):
        score_dask(trained["bundle"], tmp_path / "no_contract.csv", tmp_path / "out", client=client)
    with pytest.raises(SchemaError, match="column 'region' is missing"):
        score_dask(trained["bundle"], tmp_path / "no_contract.csv", tmp_path / "out", client=client, keep=["region"])
    with pytest.raises(FileNotFoundError, match="input not found"):
        score_dask(trained["bundle"], tmp_path / "nowhere.csv", tmp_path / "out", client=client)
    (tmp_path / "mixed").mkdir()
    messy.head(10).to_csv(tmp_path / "mixed" / "a.csv", index=False)
    messy.head(10).to_parquet(tmp_path / "mixed" / "b.parquet")
    with pytest.raises(ValueError, match="b.parquet is parquet but a.csv is csv"):
        score_dask(trained["bundle"], tmp_path / "mixed", tmp_path / "out", client=client)
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_failure_on_a_worker_keeps_the_old_output(trained, messy, client, tmp_path):
    "A partition that breaks on a worker (its file lacks a column the others have) fails the job: the old output stays whole."
    (tmp_path / "in").mkdir()
    messy.iloc[:3000].to_csv(tmp_path / "in" / "a.csv", index=False)
    messy.iloc[3000:].drop(columns=["PaymentMethod"]).to_csv(tmp_path / "in" / "b.csv", index=False)
    first = score_dask(trained["bundle"], tmp_path / "in" / "a.csv", tmp_path / "out", client=client)
    before = sorted(p.name for p in (tmp_path / "out").iterdir())
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        score_dask(trained["bundle"], tmp_path / "in", tmp_path / "out", client=client)
    with pytest.raises(SchemaError, match="in, partition 1: column 'PaymentMethod' is missing"):
        score_dask(trained["bundle"], tmp_path / "in", tmp_path / "out", client=client, overwrite=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == before and len(pd.read_parquet(tmp_path / "out")) == first.rows_out == 3000
    assert _leftovers(tmp_path) == []


def test_own_local_cluster(trained, tmp_path):
    "Without a client, score_dask starts a LocalCluster of worker processes for the call and closes it."
    src = tmp_path / "c.csv.gz"
    trained["churn"].drop(columns=["Churn"]).head(500).to_csv(src, index=False)
    res = score_dask(trained["path"], src, tmp_path / "out")
    assert (res.rows_out, res.rows_failed, res.partitions) == (500, 0, 1)
