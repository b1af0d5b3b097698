"""A small law office: clients (who may be referred by another client),
cases assigned to users, documents of a case that may point at any object."""
from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class Client(models.Model):
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=50, blank=True, default="")
    vip = models.BooleanField(default=False)
    referred_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )

    def __str__(self):
        return self.name


class Case(models.Model):
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="cases")
    title = models.CharField(max_length=200)
    assigned_to = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="cases")

    def __str__(self):
        return self.title


class Document(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(max_length=200)
    # What the document is about: any object (a client, a case, a user, a document).
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT)
    object_id = models.PositiveIntegerField(null=True, blank=True)
    about = GenericForeignKey("content_type", "object_id")

    def __str__(self):
        return self.title


class Invoice(models.Model):
    """Django's own value types, each stored its own way per engine: a UUID
    (uuid on PostgreSQL, char(32) on SQLite and MariaDB), a decimal, an
    aware datetime, a date and a JSON document (jsonb on PostgreSQL, text
    on SQLite and MariaDB)."""
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="invoices")
    number = models.UUIDField(unique=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    issued_at = models.DateTimeField()
    due = models.DateField(null=True, blank=True)
    details = models.JSONField(default=dict)

    def __str__(self):
        return str(self.number)
