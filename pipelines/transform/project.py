"""The dbt project handle (``DbtProject``), in its own module so the CLI can prepare it:
``dagster-dbt project prepare-and-package --file pipelines/transform/project.py``.
In ``dagster dev`` the manifest is re-parsed on load (``prepare_if_dev``)."""

from dagster_dbt import DbtProject

from pipelines.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
