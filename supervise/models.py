"""Every model, imported in one place so that the metadata (and Alembic) sees them all."""

from supervise.accounts.models import (
    Agency,
    Credential,
    LoginSourceThrottle,
    LoginThrottle,
    User,
    UserRole,
)
from supervise.announcements.models import Announcement
from supervise.attachments.models import Attachment, StoredPart
from supervise.calendar.models import CalendarDay, CalendarYear
from supervise.documents.models import Document, DocumentTemplate, NumberCounter, NumberPrefix
from supervise.events.models import Event, EventChainHead
from supervise.findings.models import Comment, Finding, FindingLink, Share
from supervise.health import WorkerHeartbeat
from supervise.ledgers.jobs import ExportJob
from supervise.notifications.models import EmailOptOut, Notification, Reminder
from supervise.projects.models import Project
from supervise.rectifications.models import (
    Rectification,
    RectificationReport,
    RectificationStep,
)
from supervise.referrals.models import (
    Extension,
    PersonInvolved,
    Referral,
    TimelineEntry,
)
from supervise.settings.models import Category, Setting

__all__ = [
    "Agency", "Announcement", "Attachment", "CalendarDay", "CalendarYear", "Category",
    "Comment", "Credential", "Document", "DocumentTemplate", "EmailOptOut", "Event",
    "EventChainHead", "ExportJob", "Extension",
    "Finding", "FindingLink", "LoginSourceThrottle", "LoginThrottle", "Notification",
    "NumberCounter", "NumberPrefix",
    "PersonInvolved", "Project", "Rectification", "RectificationReport", "RectificationStep",
    "Referral", "Reminder", "Setting", "Share", "StoredPart", "TimelineEntry", "User",
    "UserRole", "WorkerHeartbeat",
]
