"""A small Django site for scripts/make_examples_2.py: a Redis cache and django-rq."""
