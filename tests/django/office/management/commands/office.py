"""manage.py office seed | show | run CODE

seed   creates the test data through the ORM (users, clients that refer to
       clients, cases assigned to users, documents about other objects)
show   prints every object as the ORM reads it back, one line each, in id
       order: users, clients, cases, documents, with their relations
       resolved (referrer's name, assignees' usernames, the generic
       foreign key's model and object), then invoices; two databases holding the same
       objects print the same text
run    executes CODE (Python) with the models imported as Client, Case,
       Document, Invoice, User and ContentType (and uuid, Decimal); what it
       prints goes to stdout
"""
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

import json
import uuid
from decimal import Decimal

from office.models import Case, Client, Document, Invoice


def describe_user(u):
    return "user %d %s first=%r last=%r staff=%s active=%s joined=%s" % (
        u.pk, u.username, u.first_name, u.last_name, u.is_staff, u.is_active,
        u.date_joined.isoformat())


def describe_client(c):
    return "client %d %r phone=%r vip=%s referred_by=%s" % (
        c.pk, c.name, c.phone, c.vip, c.referred_by.name if c.referred_by else None)


def describe_case(c):
    users = ",".join(sorted(u.username for u in c.assigned_to.all()))
    return "case %d %r client=%r assigned=[%s]" % (c.pk, c.title, c.client.name, users)


def describe_document(d):
    if d.content_type_id is None:
        about = None
    else:
        obj = d.about  # resolved through django_content_type, as an app would
        ct = d.content_type
        about = "%s.%s:%s" % (ct.app_label, ct.model, obj if obj is not None else "MISSING#%s" % d.object_id)
    return "document %d %r case=%r about=%s" % (d.pk, d.title, d.case.title, about)


def describe_invoice(i):
    return "invoice %d %s case=%r amount=%s issued=%s due=%s details=%s" % (
        i.pk, i.number, i.case.title, i.amount, i.issued_at.isoformat(),
        i.due.isoformat() if i.due else None, json.dumps(i.details, sort_keys=True))


def show(out):
    for u in User.objects.order_by("pk"):
        out.write(describe_user(u) + "\n")
    for c in Client.objects.select_related("referred_by").order_by("pk"):
        out.write(describe_client(c) + "\n")
    for c in Case.objects.select_related("client").prefetch_related("assigned_to").order_by("pk"):
        out.write(describe_case(c) + "\n")
    for d in Document.objects.select_related("case", "content_type").order_by("pk"):
        out.write(describe_document(d) + "\n")
    for i in Invoice.objects.select_related("case").order_by("pk"):
        out.write(describe_invoice(i) + "\n")


def utc(*args):
    return timezone.make_aware(timezone.datetime(*args), timezone.utc)


@transaction.atomic
def seed():
    # Fixed sign-up times (not "now"), so that every run stores the same
    # values: one with a fraction that ends in zeros, one with six digits,
    # one in whole seconds.
    alice = User.objects.create_user("alice", first_name="Alice", last_name="Archer",
                                     date_joined=utc(2024, 1, 15, 9, 30, 0, 250000))
    bob = User.objects.create_user("bob", first_name="Bob", last_name="Baker",
                                   date_joined=utc(2024, 2, 1, 14, 5, 7, 123456))
    carol = User.objects.create_user("carol", first_name="Carol", last_name="Cook", is_staff=True,
                                     date_joined=utc(2024, 3, 10, 8, 0, 0))

    anna = Client.objects.create(name="Anna Rossi", phone="+39 06 1111")
    bruno = Client.objects.create(name="Bruno Bianchi", phone="+39 02 2222", referred_by=anna)
    carla = Client.objects.create(name="Carla Verdi", vip=True, referred_by=bruno)
    dario = Client.objects.create(name="Dario Neri", phone="+39 011 4444", referred_by=anna)
    elena = Client.objects.create(name="Elena Russo", phone="+39 055 5555")
    # A reference to a client created later: the self-reference goes both ways.
    anna.referred_by = elena
    anna.save()

    lease = Case.objects.create(client=anna, title="Lease dispute")
    lease.assigned_to.add(alice, bob)
    inheritance = Case.objects.create(client=bruno, title="Inheritance")
    inheritance.assigned_to.add(bob)
    review = Case.objects.create(client=carla, title="Contract review")
    appeal = Case.objects.create(client=anna, title="Appeal")
    appeal.assigned_to.add(alice, carol)
    Case.objects.create(client=dario, title="Debt collection").assigned_to.add(carol)

    contract = Document.objects.create(case=lease, title="Lease contract", about=anna)
    Document.objects.create(case=inheritance, title="Will", about=review)
    Document.objects.create(case=appeal, title="Power of attorney", about=carol)
    Document.objects.create(case=lease, title="Notes on the contract", about=contract)
    Document.objects.create(case=review, title="Cover letter")
    Document.objects.create(case=appeal, title="Referral letter", about=dario)

    # Keys in an order jsonb does not keep, a fraction of a second, a
    # decimal with a trailing zero.
    Invoice.objects.create(case=lease, number=uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e"),
                           amount=Decimal("1250.50"), issued_at=utc(2024, 4, 2, 16, 45, 10, 500000),
                           due=timezone.datetime(2024, 5, 2).date(),
                           details={"vat": "22%", "lines": [{"hours": 5, "rate": 250.1}], "paid": False})
    Invoice.objects.create(case=appeal, number=uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                           amount=Decimal("80.00"), issued_at=utc(2024, 6, 30, 23, 59, 59),
                           details={})


class Command(BaseCommand):
    help = "Test data of the dbpipe Django tier: seed, show, run CODE."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["seed", "show", "run"])
        parser.add_argument("code", nargs="?", default=None)

    def handle(self, *args, **options):
        action = options["action"]
        if action == "seed":
            seed()
        elif action == "show":
            show(self.stdout)
        else:
            if options["code"] is None:
                raise CommandError("run needs the code to run")
            env = {"Client": Client, "Case": Case, "Document": Document, "Invoice": Invoice, "User": User,
                   "uuid": uuid, "Decimal": Decimal,
                   "ContentType": ContentType, "transaction": transaction, "show": show}
            exec(compile(options["code"], "<office run>", "exec"), env)
