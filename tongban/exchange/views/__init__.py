"""Staff pages of the data-sharing exchange, mounted at /staff/exchange/ (urls.py).

For data officers and administrators. Every object is looked up through a scoped selector: another
department's grant, call or upstream system does not exist for these pages (404). Every change is one
service call, which checks the permission again: a step the user may not take is a 403.
"""
