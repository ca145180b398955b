"""Excel imports, the pure part: workbook bytes in, typed records and row errors out.

No database, no Flask, no request. ``schema`` names the columns of each kind, ``reader`` turns an
.xlsx into header-checked rows, ``validate`` checks every row against plain lookups (majors, sites,
known 学号 and 课程代码 handed in by the service) and ``workbooks`` writes the templates and the
error report. ``app.services.imports`` gathers the lookups, applies the records in one transaction
and runs all of it as a task.
"""
