"""Background work: ``runner`` (submit a task, run it, the RQ entry points), ``registry`` (kind → handler),
``worker`` (the ``rq worker`` class). Importing this package does no work."""
