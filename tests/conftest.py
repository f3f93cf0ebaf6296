"""Shared pytest options and fixtures for mlworkflow's tests."""
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from mlworkflow.data import infer_schema, load_churn
from mlworkflow.deployment import load_bundle, save_bundle
from mlworkflow.preprocessing import make_preprocessor
from mlworkflow.problem import churn_problem


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False,
                     help="also run notebook cells marked `#| slow` (same as MLW_SLOW=1)")


@pytest.fixture(scope="module")
def churn():
    "The churn spec, its inferred schema and the repaired table (TotalCharges numeric)."
    problem = churn_problem()
    raw = load_churn()
    schema = infer_schema(raw, problem)
    df, _ = schema.coerce(raw)
    return problem, schema, df


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    "A churn bundle (logistic regression, threshold 0.2) saved in a temp dir, with the data it was trained on."
    churn, problem = load_churn(), churn_problem()
    schema = infer_schema(churn, problem)
    data = schema.coerce(churn)[0]
    X, y = data[schema.features()], problem.encode_target(data.Churn)
    pipe = make_pipeline(make_preprocessor(schema), LogisticRegression(max_iter=1000)).fit(X.iloc[:5000], y.iloc[:5000])
    path = save_bundle(tmp_path_factory.mktemp("b") / "v1", pipe, problem, schema, 0.2, reference=X.iloc[:5000])
    return dict(churn=churn, data=data, schema=schema, problem=problem, X=X, y=y, path=path, bundle=load_bundle(path))
