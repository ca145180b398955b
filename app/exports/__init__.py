"""Pure workbook writers: plain rows and dicts in, xlsx out. No database, no Flask, no request.

The services in ``app.services.exports`` gather the rows (scoped, in set queries) and call these.
"""
