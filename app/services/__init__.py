"""Workflows. Each service validates, changes rows and flushes; the request or the job commits."""
