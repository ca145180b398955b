"""Extensions created unbound; `create_app` binds them. Importing this module does no work."""
from __future__ import annotations

from flask_appbuilder import Model
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

# FAB models live on Model.metadata; Flask-SQLAlchemy shares it so that one session sees all tables.
db = SQLAlchemy(metadata=Model.metadata)
migrate = Migrate()
csrf = CSRFProtect()


def redis_connection():
    """A connection to the configured Redis (the job queue's); short timeouts so a dead Redis fails fast."""
    from flask import current_app
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=10)


def rq_queue():
    """The RQ queue every background job goes to (``RQ_QUEUE``), on ``redis_connection()``."""
    from flask import current_app
    from rq import Queue

    return Queue(current_app.config["RQ_QUEUE"], connection=redis_connection(),
                 default_timeout=current_app.config["JOB_TIMEOUT"])
