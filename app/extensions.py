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
