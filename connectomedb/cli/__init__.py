"""The ``connectomedb`` command line: one module per command group, wired here.

Commands import what they need when they run, so that ``--help`` and the light
commands start without loading the driver, the API or the science code.
"""

from __future__ import annotations

import typer

from connectomedb.cli import access, backup, datasets, db, export, jobs, load, mcp, neo4j, serve

app = typer.Typer(help="connectomedb: connectomes in Neo4j.", no_args_is_help=True)

app.command("load")(load.load)
app.command("datasets")(datasets.list_datasets)
app.command("export")(export.export)
app.command("serve")(serve.serve)
app.command("mcp")(mcp.mcp)
app.command("worker")(jobs.worker)
app.command("scheduler")(jobs.scheduler)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)

app.add_typer(neo4j.neo4j_app, name="neo4j")
app.add_typer(db.db_app, name="db")
app.add_typer(datasets.dataset_app, name="dataset")
app.add_typer(access.user_app, name="user")
app.add_typer(access.token_app, name="token")
app.add_typer(access.lab_app, name="lab")
app.add_typer(serve.schema_app, name="schema")
app.add_typer(jobs.job_app, name="job")

__all__ = ["app"]
