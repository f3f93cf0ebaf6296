"""Shared pytest options and fixtures for mlworkflow's tests."""
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlworkflow.data import infer_schema, load_churn
from mlworkflow.deployment import load_bundle, save_bundle
from mlworkflow.preprocessing import make_preprocessor
from mlworkflow.problem import Problem, churn_problem


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


@pytest.fixture(scope="module")
def churnlike():
    "Synthetic churn-like rows (2,400) and a boosting pipeline fitted on the first 1,200 (evaluation and report tests)."
    rng = np.random.default_rng(0)
    n = 2400
    X = pd.DataFrame({"tenure": rng.integers(0, 72, n).astype(float), "charges": rng.normal(70, 20, n),
                      "contract": rng.choice(["month", "year", "two"], n, p=[0.5, 0.3, 0.2])})
    logit = -1 + 2.5 * (X.contract == "month") - 0.04 * X.tenure + 0.01 * (X.charges - 70)
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "Yes", "No"), name="Churn")
    pre = ColumnTransformer([("num", StandardScaler(), ["tenure", "charges"]),
                             ("cat", OneHotEncoder(sparse_output=False, handle_unknown="ignore"), ["contract"])],
                            verbose_feature_names_out=False).set_output(transform="pandas")
    model = make_pipeline(pre, HistGradientBoostingClassifier(max_iter=60, random_state=0)).fit(X.iloc[:1200], y.iloc[:1200])
    problem = Problem("churnlike", "binary", "Churn", "Yes", criteria=["recall >= 0.8", "precision >= 0.3"])
    return problem, model, X, y
