"""All tables of the product. Importing this package registers every model on ``Model.metadata``."""
from app.models.account import Account, AccountSession  # noqa: F401
from app.models.degree import (  # noqa: F401
    DegreeApplication,
    DegreeBatch,
    DegreeSnapshot,
    Signature,
)
from app.models.exception import CourseException  # noqa: F401
from app.models.grade import Grade, LanguageScore  # noqa: F401
from app.models.graduation import (  # noqa: F401
    GraduateForm,
    GraduationAudit,
    GraduationBatch,
    GraduationSnapshot,
)
from app.models.numbering import CertificateCounter  # noqa: F401
from app.models.oplog import OperationLog  # noqa: F401
from app.models.org import Major, Organisation  # noqa: F401
from app.models.plan import PlanCourse, TeachingPlan  # noqa: F401
from app.models.student import Student  # noqa: F401
from app.models.task import Task, TaskChunk  # noqa: F401
