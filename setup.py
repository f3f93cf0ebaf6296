"""Packaging for mlworkflow: every field is read from `settings.ini` (the nbdev 2 configuration)."""
from configparser import ConfigParser

import setuptools

config = ConfigParser(delimiters=["="])
config.read("settings.ini", encoding="utf-8")
cfg = config["DEFAULT"]

licenses = {"apache2": "Apache-2.0"}  # SPDX expression (license classifiers are deprecated)
statuses = ["1 - Planning", "2 - Pre-Alpha", "3 - Alpha", "4 - Beta", "5 - Production/Stable", "6 - Mature", "7 - Inactive"]
py_versions = "3.11 3.12 3.13".split()

lic = licenses[cfg["license"].lower()]
min_python = cfg["min_python"]
requirements = cfg.get("requirements", "").split()
extras = {name: cfg.get(f"{name}_requirements", "").split() for name in ("explain", "serve", "sql", "boost", "tune", "text", "dask", "dev")}
extras["all"] = sorted({r for name in ("explain", "serve", "sql", "boost", "dask") for r in extras[name]})
extras["dev"] = extras["all"] + extras["dev"]

setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license=lic,
    classifiers=[
        "Development Status :: " + statuses[int(cfg["status"])],
        "Intended Audience :: " + cfg["audience"].title(),
        "Natural Language :: " + cfg["language"].title(),
    ] + [f"Programming Language :: Python :: {v}" for v in py_versions[py_versions.index(min_python):]],
    url=cfg["git_url"],
    author=cfg["author"],
    author_email=cfg["author_email"],
    keywords=cfg["keywords"],
    packages=setuptools.find_namespace_packages(include=["mlworkflow", "mlworkflow.*"]),  # datasets/ is a data folder
    package_data={"mlworkflow.datasets": ["*.csv.gz"]},
    include_package_data=True,
    install_requires=requirements,
    extras_require=extras,
    python_requires=">=" + min_python,
    zip_safe=False,
    entry_points={
        "console_scripts": cfg.get("console_scripts", "").split(),
        "nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"],
    },
)
