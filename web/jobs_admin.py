"""`GET /v1/admin/jobs` → engine.ops.jobruns.status (the schedule of
engine.ops.job_catalog.SPECS and each job's runs); `POST /v1/admin/jobs/{name}/run` →
jobs.tasks.enqueue_once → the RQ queue, whose worker runs the job under its job lock
(lua/take_job_lock.lua): the jobs' schedule and state, and running one on demand.
"""

from __future__ import annotations

import marshmallow as ma
from flask import current_app

from engine.ops import jobruns
from engine.ops.job_catalog import SPECS
from jobs.tasks import enqueue_once
from web.api import Blueprint
from web.errors import ApiError
from web.extensions import get_engine

blp = Blueprint("jobs_admin", __name__, url_prefix="/v1/admin/jobs", description="Jobs (admin).")


class RunSchema(ma.Schema):
    run_id = ma.fields.String(required=True)
    scheduled_for = ma.fields.DateTime(required=True, allow_none=True)
    started_at = ma.fields.DateTime(required=True)
    finished_at = ma.fields.DateTime(required=True, allow_none=True)
    duration_ms = ma.fields.Integer(required=True, allow_none=True)
    status = ma.fields.String(required=True)
    rows_affected = ma.fields.Integer(required=True)
    error = ma.fields.String(required=True, allow_none=True)


TEXT = {"type": "string"}  # what a Function field writes, for the OpenAPI document


class JobStatusSchema(ma.Schema):
    name = ma.fields.Function(lambda s: s.spec.name, required=True, metadata=TEXT)
    description = ma.fields.Function(lambda s: s.spec.description, required=True, metadata=TEXT)
    schedule = ma.fields.Function(lambda s: s.spec.schedule, required=True, metadata=TEXT)
    status = ma.fields.Function(
        lambda s: s.last_run.status if s.last_run else "never_run", required=True, metadata=TEXT
    )
    last_run = ma.fields.Nested(RunSchema(), required=True, allow_none=True)
    last_success = ma.fields.Nested(RunSchema(), required=True, allow_none=True)
    last_due = ma.fields.DateTime(required=True)
    next_due = ma.fields.DateTime(required=True)
    overdue = ma.fields.Boolean(required=True)


class JobsSchema(ma.Schema):
    jobs = ma.fields.List(ma.fields.Nested(JobStatusSchema()), required=True)


class EnqueuedSchema(ma.Schema):
    job = ma.fields.String(required=True)
    queue_job_id = ma.fields.String(required=True)


@blp.route("")
@blp.response(200, JobsSchema())
def list_jobs():
    return {"jobs": jobruns.status(get_engine(), SPECS)}


@blp.route("/<string:name>/run", methods=["POST"])
@blp.response(201, EnqueuedSchema(), description="A run was queued.")
@blp.alt_response(
    200, schema=EnqueuedSchema(), description="The job was already queued or running: that run."
)
@blp.alt_response(404, description="not_found: no such job")
def run_job(name: str):
    """Queue a run, or answer with the one already queued or running (so retries and
    impatient clicks never pile runs up in the queue)."""
    if name not in SPECS:
        raise ApiError(404, "not_found", f"There is no job {name!r}.", {"jobs": sorted(SPECS)})
    queue = current_app.extensions["questboard.queue"]
    enqueued = enqueue_once(queue, name, engine=get_engine(), description=" (on demand)")
    return {"job": name, "queue_job_id": enqueued.job_id}, 201 if enqueued.created else 200
