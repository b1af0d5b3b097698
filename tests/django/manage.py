#!/usr/bin/env python3
"""The Django project of the Django test tier (tests/django.bats).

Run it with Debian's Django: /usr/bin/python3 manage.py ...
The database comes from OFFICE_DB (see officesite/settings.py).
"""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "officesite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
